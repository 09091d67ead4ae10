"""MediaHub: the media side of one hearing, behind a small facade.

The signalling server feeds client messages to :meth:`MediaHub.handle_signal`,
sets :attr:`MediaHub.send_signal` to deliver the hub's messages, and calls
:meth:`MediaHub.apply_plan` with every new ``media_plan(state)``. Everything
else (peers, fan-out hubs, taps, recorders, counters) lives here.

Per participant the hub keeps one :class:`~media.forward.SourceHub` per kind;
it outlives the participant's connections, so subscribers, taps and recorders
survive a reconnect (a reconnecting participant sends ``hello`` again, gets a
new peer, and exactly the routes of the current plan).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCRtpReceiver

from courtroom.domain.routing import Link, MediaKind, MediaPlan, Route
from media import aiortc_internals as internals
from media.config import MediaConfig
from media.forward import EncodedFrame, SourceHub
from media.peer import ServerPeer, Signal
from media.quiet import QuietAudio
from media.recording import FinishedFile, RecordingClock, TrackRecorder
from media.router import MediaRouter, PlanDiff
from media.rtp import DownTrack, keyframe_start
from media.stages import AudioTap, DecodeWorker, LatestFrameTap

SendSignal = Callable[[str, Signal], Awaitable[None] | None]


@dataclass
class _Source:
    hub: SourceHub
    audio_tap: AudioTap | None = None
    video_tap: LatestFrameTap | None = None
    decoder: DecodeWorker | None = None
    recorder: TrackRecorder | None = None


@dataclass
class _StatsSample:
    at: float
    bytes_in: int
    bytes_out: int


class HubCounters:
    """Packets handed to senders, per route (link included).

    Frame path: one count per encoded frame handed to aiortc's sender. RTP path
    (``MediaConfig.rtp_forwarding``): one count per RTP packet the down track put on the
    wire, counted by the RTP path itself after its plan check. Each route has one mutable
    cell, so the RTP path bumps it without hashing the route per packet.
    """

    def __init__(self) -> None:
        self._cells: dict[Route, list[int]] = {}

    def cell(self, route: Route) -> list[int]:
        cell = self._cells.get(route)
        if cell is None:
            cell = self._cells[route] = [0]
        return cell

    def bump(self, route: Route) -> None:
        self.cell(route)[0] += 1

    @property
    def forwarded(self) -> dict[Route, int]:
        """A snapshot: packets forwarded per route so far."""
        return {route: cell[0] for route, cell in self._cells.items()}


class PlanCheck:
    """``route in router.plan``, asked before every packet: the membership is re-read
    whenever the router holds a different plan object (plans are immutable frozensets,
    replaced on every change), so it is exact and costs an identity check per packet."""

    __slots__ = ("_ok", "_plan", "_route", "_router")

    def __init__(self, router: MediaRouter, route: Route) -> None:
        self._router = router
        self._route = route
        self._plan: MediaPlan | None = None
        self._ok = False

    def __call__(self) -> bool:
        plan = self._router.plan
        if plan is not self._plan:
            self._plan = plan
            self._ok = self._route in plan
        return self._ok


class MediaHub:
    def __init__(self, config: MediaConfig, *, hearing: str = "hearing",
                 send_signal: SendSignal | None = None,
                 on_recording: Callable[[FinishedFile], None] | None = None,
                 on_gap: Callable[[str, str, float, float], None] | None = None) -> None:
        self.config = config
        self.hearing = hearing
        self.send_signal: SendSignal | None = send_signal
        self.on_recording = on_recording
        self.on_gap = on_gap  # (participant, kind, t0, t1): a track's frames stopped and resumed
        self.clock = RecordingClock()
        self.router = MediaRouter(self)
        self.counters = HubCounters()
        self.recordings: list[FinishedFile] = []
        self._sources: dict[tuple[str, MediaKind], _Source] = {}
        self._peers: dict[str, ServerPeer] = {}
        self._stats: dict[str, _StatsSample] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # -- facade ---------------------------------------------------------------
    async def handle_signal(self, participant: str, message: Signal) -> None:
        kind = message.get("type")
        if kind == "hello":
            await self._connect(participant)
            return
        peer = self._peers.get(participant)
        if peer is None:
            return
        if kind == "answer":
            await peer.handle_answer(message)
        elif kind == "renegotiate":
            await peer.negotiate()
        elif kind == "bye":
            await self.disconnect(participant)

    async def apply_plan(self, plan: MediaPlan) -> PlanDiff:
        diff, renegotiate = self.router.apply(plan)
        renegotiate |= self._retire_unplanned_links(plan)
        await asyncio.gather(*(self._peers[d].negotiate() for d in renegotiate
                               if d in self._peers))
        return diff

    async def disconnect(self, participant: str) -> None:
        peer = self._peers.pop(participant, None)
        if peer is not None:
            await self._close_peer(peer)

    def audio_tap(self, participant: str) -> AudioTap | None:
        return self._source(participant, MediaKind.AUDIO).audio_tap

    def video_tap(self, participant: str) -> LatestFrameTap | None:
        return self._source(participant, MediaKind.VIDEO).video_tap

    def source_hub(self, participant: str, kind: MediaKind) -> SourceHub:
        return self._source(participant, kind).hub

    def peer(self, participant: str) -> ServerPeer | None:
        return self._peers.get(participant)

    def forwarded(self, source: str, kind: MediaKind, destination: str,
                  link: Link | None = None) -> int:
        """Packets forwarded from ``source``'s ``kind`` to ``destination`` (any link by default)."""
        return sum(n for r, n in self.counters.forwarded.items()
                   if r.source == source and r.kind is kind and r.destination == destination
                   and (link is None or r.link is link))

    def forwarded_to(self, destination: str, link: Link | None = None) -> int:
        return sum(n for r, n in self.counters.forwarded.items()
                   if r.destination == destination and (link is None or r.link is link))

    def latencies(self) -> list[float]:
        """Server-added latency samples (frame complete -> handed to sender), seconds."""
        out: list[float] = []
        for peer in self._peers.values():
            for outlet in peer.outlets.values():
                out.extend(outlet.track.latencies)
        return out

    async def diagnostics(self) -> dict[str, Any]:
        """Where frames go: per source hub and per forwarded route (for benches and logs).

        ``sources``: frames and keyframes in, keyframe requests made and PLIs sent
        upstream, request->keyframe waits, tap drops, and the server receiver's RTP
        packets received/lost. ``routes``: per outlet, frames forwarded, dropped from
        the queue, re-gates, frames skipped while gated, and PLI/FIR relayed.
        """
        sources: dict[str, dict[str, Any]] = {}
        for (pid, kind), source in self._sources.items():
            hub = source.hub
            waits = sorted(hub.keyframe_waits)
            entry: dict[str, Any] = {
                "frames_in": hub.frames_in, "keyframes_in": hub.keyframes_in,
                "keyframe_requests": hub.keyframe_requests, "plis_sent": hub.keyframes.sent,
                "keyframe_wait_max": round(waits[-1], 3) if waits else None,
                "keyframe_wait_median": round(waits[len(waits) // 2], 3) if waits else None,
                "tap_dropped": source.decoder.dropped if source.decoder else 0,
            }
            if source.decoder is not None and source.video_tap is not None:
                entry["tap_decoded"] = source.decoder.decoded
                entry["tap_unwanted"] = source.decoder.unwanted  # nobody reading: not decoded
            if hub.rtp:
                entry["rtp_packets_in"] = hub.packets_in
            peer = self._peers.get(pid)
            if peer is not None:
                report = await peer.publish[kind].receiver.getStats()
                inbound = [s for s in report.values() if s.type == "inbound-rtp"]
                entry["rtp_received"] = sum(s.packetsReceived for s in inbound)
                entry["rtp_lost"] = sum(s.packetsLost for s in inbound)
            sources[f"{pid}/{kind.value}"] = entry
        routes: dict[str, dict[str, int]] = {}
        for peer in self._peers.values():
            for (source_pid, kind, link), outlet in peer.outlets.items():
                track = outlet.track
                routes[f"{source_pid}->{peer.participant}/{kind.value}/{link.value}"] = {
                    "forwarded": track.forwarded, "dropped": track.dropped,
                    "regates": track.regates, "gated_drops": track.gated_drops,
                    "keyframe_requests": track.keyframe_requests,
                    "refused": track.refused,
                }
                if track.down is not None:
                    routes[f"{source_pid}->{peer.participant}/{kind.value}/{link.value}"].update(
                        track.down.counters())
        return {"sources": sources, "routes": routes}

    async def stats(self) -> dict[str, dict[str, Any]]:
        """Per participant: connection state, bitrate in/out (bit/s), loss, RTT (s)."""
        result: dict[str, dict[str, Any]] = {}
        now = time.monotonic()
        for pid, peer in list(self._peers.items()):  # awaits inside: peers may come and go
            report = await peer.pc.getStats()
            bytes_in = bytes_out = lost = received = 0
            rtts: list[float] = []
            fraction_lost: list[float] = []
            for stat in report.values():
                if stat.type == "transport":
                    bytes_in = max(bytes_in, stat.bytesReceived)
                    bytes_out = max(bytes_out, stat.bytesSent)
                elif stat.type == "inbound-rtp":
                    lost += stat.packetsLost
                    received += stat.packetsReceived
                elif stat.type == "remote-inbound-rtp":
                    if stat.roundTripTime is not None:
                        rtts.append(stat.roundTripTime)
                    fraction_lost.append(stat.fractionLost / 256)
            prev = self._stats.get(pid)
            self._stats[pid] = _StatsSample(now, bytes_in, bytes_out)
            span = now - prev.at if prev is not None else 0.0
            result[pid] = {
                "state": peer.connection_state,
                "bitrate_in": (bytes_in - prev.bytes_in) * 8 / span if prev and span > 0 else None,
                "bitrate_out": (bytes_out - prev.bytes_out) * 8 / span
                if prev and span > 0 else None,
                "packets_received": received,
                "packets_lost": lost,
                "loss_upstream": lost / (lost + received) if lost + received else 0.0,
                "loss_downstream": max(fraction_lost) if fraction_lost else 0.0,
                "rtt": sum(rtts) / len(rtts) if rtts else None,
            }
        return result

    async def close(self) -> None:
        self._closed = True
        for pid in list(self._peers):
            await self.disconnect(pid)
        for task in list(self._tasks):
            task.cancel()
        for source in self._sources.values():
            source.hub.close()
            if source.decoder is not None:
                await asyncio.to_thread(source.decoder.close)
            if source.recorder is not None:
                source.recorder.close()

    # -- OutletPort (called by the router) ----------------------------------
    def cut(self, route: Route) -> None:
        peer = self._peers.get(route.destination)
        outlet = peer.outlets.get((route.source, route.kind, route.link)) if peer else None
        if outlet is not None:
            outlet.track.set_enabled(False)

    def open(self, route: Route) -> bool:
        peer = self._peers.get(route.destination)
        if peer is None:
            return False  # applied when the destination connects
        key = (route.source, route.kind, route.link)
        outlet = peer.outlets.get(key)
        if outlet is not None:
            outlet.track.set_enabled(True)
            return False
        hub = self._source(route.source, route.kind).hub
        track = hub.subscribe(label=f"{route.link.value}:{route.source}:{route.kind.value}")

        def count(_frame: EncodedFrame, route: Route = route) -> None:
            self.counters.bump(route)

        track.on_forward = count
        # Checked before every frame/packet: only a route of the current plan carries one.
        track.allowed = PlanCheck(self.router, route)
        outlet = peer.add_outlet(key, track)
        sender = getattr(getattr(outlet, "transceiver", None), "sender", None)
        if hub.rtp and sender is not None:
            video = route.kind.is_video
            down = DownTrack(track, sender, hub.cache, video=video,
                             clock_rate=90000 if video else 48000,
                             count=self.counters.cell(route),
                             request_keyframe=hub.request_keyframe)
            track.down = down
            internals.on_sender_start(sender, down.bind)
            internals.answer_nacks(sender, down.retransmit)
        return True

    def _retire_unplanned_links(self, plan: MediaPlan) -> set[str]:
        """Retire every outlet of a link its destination no longer has any route of.

        A cut keeps its outlet (disabled) for a quick restore, but a participant sent back to
        the waiting room must not keep hearing tracks in its SDP: those outlets are stopped,
        their m-lines made inactive and dropped from the ``tracks`` map. Returns the
        destinations that need a new offer.
        """
        links = {(r.destination, r.link) for r in plan}
        changed: set[str] = set()
        for pid, peer in self._peers.items():
            for key in [k for k in peer.outlets if (pid, k[2]) not in links]:
                peer.retire_outlet(key)
                changed.add(pid)
        return changed

    # -- internals ------------------------------------------------------------
    async def _connect(self, participant: str) -> None:
        old = self._peers.pop(participant, None)
        if old is not None:
            await self._close_peer(old)
        peer = ServerPeer(
            participant, self.config,
            send=lambda message: self._signal(participant, message),
            on_receiver=lambda kind, receiver: self._attach_receiver(participant, kind, receiver),
            on_state=self._on_state,
        )
        self._peers[participant] = peer
        self.router.reattach(participant)  # outlets go into the first offer
        await peer.start()

    def _attach_receiver(self, participant: str, kind: MediaKind,
                         receiver: RTCRtpReceiver) -> None:
        hub = self._source(participant, kind).hub
        internals.tap_receiver(receiver, hub.on_frame)
        if kind.is_video:  # the taps and the recorder restart at a keyframe after a lost packet
            internals.resync_at_keyframes(receiver, keyframe_start)
        if hub.rtp:
            internals.tap_receiver_packets(receiver, hub.on_packet, hub.frames_wanted)
        hub.attach(lambda: internals.send_pli(receiver))

    def _on_state(self, peer: ServerPeer, state: str) -> None:
        if state in ("failed", "closed") and self._peers.get(peer.participant) is peer:
            # a dead connection: drop it; the client's next hello builds a fresh one
            task = asyncio.ensure_future(self.disconnect(peer.participant))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _close_peer(self, peer: ServerPeer) -> None:
        for kind in MediaKind:
            source = self._sources.get((peer.participant, kind))
            if source is not None:
                source.hub.detach()
        with contextlib.suppress(Exception):
            await peer.close()

    async def _signal(self, participant: str, message: Signal) -> None:
        if self.send_signal is None:
            return
        result = self.send_signal(participant, message)
        if inspect.isawaitable(result):
            await result

    def _source(self, participant: str, kind: MediaKind) -> _Source:
        key = (participant, kind)
        source = self._sources.get(key)
        if source is not None:
            return source
        hub = SourceHub(participant, kind, min_keyframe_interval=self.config.min_keyframe_interval,
                        rtp=self.config.rtp_forwarding,
                        mime_type=f"video/{self.config.video_codec}"
                        if kind.is_video else "audio/opus")
        source = _Source(hub)
        if self.config.taps and kind is not MediaKind.SCREEN:  # a screen: not heard, not watched
            if kind is MediaKind.AUDIO:
                source.audio_tap = AudioTap()
                quiet = (QuietAudio(quiet_dbov=self.config.quiet_audio_dbov)
                         if self.config.quiet_audio_dbov is not None else None)
                source.decoder = DecodeWorker("audio", audio_tap=source.audio_tap, quiet=quiet)
            else:
                source.video_tap = LatestFrameTap()
                source.decoder = DecodeWorker("video", video_tap=source.video_tap,
                                              on_gap=hub.request_keyframe)
            hub.sinks.append(source.decoder)
        if self.config.recording_dir is not None:
            source.recorder = TrackRecorder(
                self.config.recording_dir / self.hearing, participant, kind.value, self.clock,
                self._recorded, segment_seconds=self.config.segment_seconds,
                request_keyframe=hub.request_keyframe, on_gap=self._gap)
            hub.sinks.append(source.recorder)
        self._sources[key] = source
        return source

    def _gap(self, participant: str, kind: str, t0: float, t1: float) -> None:
        if self.on_gap is not None:
            self.on_gap(participant, kind, t0, t1)

    def _recorded(self, finished: FinishedFile) -> None:
        self.recordings.append(finished)
        if self.on_recording is not None:
            self.on_recording(finished)
