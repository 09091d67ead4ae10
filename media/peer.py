"""One RTCPeerConnection per participant, and the signalling that drives it.

Negotiation rule (no glare by construction): **the server is the only offerer.**
A client never creates an offer; it answers, and asks for a new offer with
``{"type": "renegotiate"}`` when it needs one. The server keeps at most one
offer in flight per peer; changes made meanwhile set a dirty flag and produce
one more offer once the answer arrives. A stale answer (wrong ``seq``) is ignored.

Messages (plain dicts, JSON-ready):

* client -> server: ``{"type": "hello"}`` (new peer; also how a client reconnects),
  ``{"type": "answer", "sdp": str, "seq": int}``, ``{"type": "renegotiate"}``,
  ``{"type": "bye"}``.
* server -> client: ``{"type": "config", "iceServers": [...],
  "iceTransportPolicy": "all"|"relay"}``, then
  ``{"type": "offer", "sdp": str, "seq": int, "tracks": {mid: {...}}}`` where each
  mid is either ``{"publish": kind}`` (attach your own track there) or
  ``{"source": pid, "kind": kind, "link": "hearing"|"supervision"}``.

SDP is complete (non-trickle). Every peer is MAX_BUNDLE (aiortc #868: with
BALANCED, extra tracks of one kind are dropped) and offers only the configured
video codec (+RTX) and Opus, so publisher and subscriber legs always agree and
forwarded packets need no transcoding.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)

from courtroom.domain.routing import Link, MediaKind
from media import aiortc_internals as internals
from media.config import MediaConfig
from media.forward import ForwardTrack

Signal = dict[str, Any]
SendSignal = Callable[[Signal], Awaitable[None] | None]
OutletKey = tuple[str, MediaKind, Link]  # (source, kind, link)

_CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) ")


def filter_loopback_candidates(sdp: str) -> str:
    """Drop every ``a=candidate`` line not on 127.0.0.1 (incl. mDNS ``.local``)."""
    lines = []
    for line in sdp.splitlines():
        match = _CANDIDATE.match(line)
        if match and match.group(1) != internals.LOOPBACK:
            continue
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def ask_audio_ptime(sdp: str, ptime_ms: int | None) -> str:
    """``sdp`` with ``a=ptime:<ptime_ms>`` in each audio section (replacing any there): the
    packet duration this side would like to receive (RFC 4566 6). Chromium's Opus encoder
    honours it; a client that does not keeps sending 20 ms packets. ``None``: unchanged."""
    if ptime_ms is None:
        return sdp
    out: list[str] = []
    audio = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            if audio:
                out.append(f"a=ptime:{ptime_ms}")
            audio = line.startswith("m=audio ")
        elif audio and line.startswith("a=ptime:"):
            continue
        out.append(line)
    if audio:
        out.append(f"a=ptime:{ptime_ms}")
    return "\r\n".join(out) + "\r\n"


def codec_preferences(kind: str, video_codec: str) -> list[Any]:
    wanted = {"audio/opus"} if kind == "audio" else {f"video/{video_codec}".lower(), "video/rtx"}
    caps = RTCRtpSender.getCapabilities(kind).codecs
    return [c for c in caps if c.mimeType.lower() in wanted]


def rtc_configuration(config: MediaConfig, ice_servers: list[dict[str, Any]]) -> RTCConfiguration:
    servers = [RTCIceServer(urls=s["urls"], username=s.get("username"),
                            credential=s.get("credential")) for s in ice_servers]
    return RTCConfiguration(iceServers=servers, bundlePolicy="max-bundle")


class AnswerRefused(ValueError):
    """A client's answer that cannot be applied; the offer stays in flight for a good one."""


@dataclass
class Outlet:
    """A forwarded track slot on a destination's connection (kept across cuts)."""

    key: OutletKey
    transceiver: Any
    track: ForwardTrack


async def _maybe_await(result: Awaitable[None] | None) -> None:
    if inspect.isawaitable(result):
        await result


class ServerPeer:
    """The server side of one participant's connection."""

    def __init__(self, participant: str, config: MediaConfig, send: SendSignal, *,
                 on_receiver: Callable[[MediaKind, RTCRtpReceiver], None],
                 on_state: Callable[[ServerPeer, str], None] | None = None) -> None:
        self.participant = participant
        self.config = config
        self._send = send
        self._on_state = on_state
        self.client_config = config.client_config(participant)
        internals.enlarge_rtx_history()  # forwarded keyframes exceed aiortc's 128 packets
        internals.tolerant_ice_consent()  # a lagging loop must not drop every peer at once
        internals.harden_datagram_receive()  # an empty datagram closed the DTLS transport
        own_servers = config.server_ice_servers(participant)
        self.pc = RTCPeerConnection(rtc_configuration(config, own_servers))
        self.outlets: dict[OutletKey, Outlet] = {}
        self.retired: list[Outlet] = []  # inactive m-lines (see retire_outlet)
        self._seq = 0
        self._in_flight: int | None = None
        self._dirty = False
        self._lock = asyncio.Lock()
        self.closed = False
        # publication slots first: a client's addTrack() picks the first free
        # transceiver of its kind, so these must precede every forwarded one
        self.publish: dict[MediaKind, Any] = {}
        # (a screen's slot after the camera's, so addTrack() of a camera takes the camera's)
        for kind in (MediaKind.AUDIO, MediaKind.VIDEO, MediaKind.SCREEN):
            transceiver = self.pc.addTransceiver(kind.sdp, direction="recvonly")
            transceiver.setCodecPreferences(codec_preferences(kind.sdp, config.video_codec))
            internals.install_low_latency_jitter_buffer(transceiver.receiver)
            on_receiver(kind, transceiver.receiver)
            self.publish[kind] = transceiver

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            if self._on_state is not None:
                self._on_state(self, self.pc.connectionState)

    @property
    def connection_state(self) -> str:
        return str(self.pc.connectionState)

    async def start(self) -> None:
        await _maybe_await(self._send(self.client_config))
        await self.negotiate()

    def add_outlet(self, key: OutletKey, track: ForwardTrack) -> Outlet:
        """A new sendonly transceiver carrying ``track``; needs :meth:`negotiate`."""
        transceiver = self.pc.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(codec_preferences(track.kind, self.config.video_codec))
        # subscriber PLI/FIR -> publisher PLI (aiortc would only flag its unused encoder)
        internals.relay_keyframe_requests(transceiver.sender, track.on_keyframe_request)
        outlet = Outlet(key, transceiver, track)
        self.outlets[key] = outlet
        return outlet

    def retire_outlet(self, key: OutletKey) -> None:
        """Stop an outlet for good: no track, an inactive m-line, no entry in ``tracks``.

        An m-line cannot leave the SDP; it stays, inactive and nameless (aiortc cannot
        restart a sender whose track ended, so a retired transceiver is never reused).
        """
        outlet = self.outlets.pop(key)
        outlet.track.stop()
        outlet.transceiver.direction = "inactive"
        self.retired.append(outlet)

    def track_map(self) -> dict[str, dict[str, str]]:
        tracks: dict[str, dict[str, str]] = {}
        for kind, transceiver in self.publish.items():
            if transceiver.mid is not None:
                tracks[transceiver.mid] = {"publish": kind.value}
        for (source, kind, link), outlet in self.outlets.items():
            if outlet.transceiver.mid is not None:
                tracks[outlet.transceiver.mid] = {"source": source, "kind": kind.value,
                                                  "link": link.value}
        return tracks

    async def negotiate(self) -> None:
        """Send a new offer, or mark one due after the answer in flight."""
        async with self._lock:
            if self.closed:
                return
            if self._in_flight is not None:
                self._dirty = True
                return
            self._dirty = False
            self._seq += 1
            self._in_flight = self._seq
            offer = await self.pc.createOffer()
            with internals.loopback_ice(self.config.loopback_only):
                await self.pc.setLocalDescription(offer)
            # keyframe bursts overflow the default UDP receive buffer of a busy loop
            internals.enlarge_socket_buffers(self.pc)
            if self.config.inline_receive:  # new transceivers bring new transports
                internals.receive_srtp_inline(self.pc)
            # Fewer audio packets in (and so out to every subscriber): see ask_audio_ptime.
            sdp = ask_audio_ptime(self.pc.localDescription.sdp, self.config.audio_ptime_ms)
            message = {"type": "offer", "sdp": sdp, "seq": self._seq, "tracks": self.track_map()}
        await _maybe_await(self._send(message))

    async def handle_answer(self, message: Signal) -> None:
        async with self._lock:
            if self.closed or message.get("seq") != self._in_flight:
                return  # stale: a newer offer is (or will be) out
            sdp = str(message["sdp"])
            if self.config.loopback_only:
                sdp = filter_loopback_candidates(sdp)
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            except Exception as exc:  # aiortc's parser raises whatever it meets
                raise AnswerRefused(
                    f"the answer's sdp could not be applied ({type(exc).__name__}); "
                    f"answer offer {self._in_flight} again"
                ) from None
            self._in_flight = None
            again = self._dirty
        if again:
            await self.negotiate()

    async def close(self) -> None:
        self.closed = True
        for outlet in self.outlets.values():
            outlet.track.stop()
        await self.pc.close()
