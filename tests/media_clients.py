"""Real aiortc client peers for media tests and benchmarks (loopback only).

A :class:`LoopbackClient` publishes synthetic VP8 video (numpy frames, really
encoded by aiortc) and Opus audio, answers the hub's offers, decodes whatever it
receives, and reports per-mid inbound RTP counts from ``getStats()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media import aiortc_internals as internals
from media.config import MediaConfig
from media.hub import MediaHub
from media.peer import filter_loopback_candidates, rtc_configuration
from media.rtp import keyframe_start

VIDEO_CLOCK = 90000


class SyntheticVideo(MediaStreamTrack):  # type: ignore[misc]
    """A moving-bar test picture at ``fps``, paced in real time."""

    kind = "video"

    def __init__(self, width: int = 160, height: int = 120, fps: int = 15) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self._start: float | None = None
        self._index = 0
        base = np.zeros((height, width, 3), np.uint8)
        base[:, :, 1] = 90
        self._base = base

    async def recv(self) -> Any:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._index / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        img = self._base.copy()
        x = (self._index * 4) % self.width
        img[:, x:x + 8, :] = 255
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = int(self._index * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._index += 1
        return frame


class SyntheticAudio(MediaStreamTrack):  # type: ignore[misc]
    """A 440 Hz tone, 20 ms stereo s16 frames at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._index = 0
        t = np.arange(960) / 48000
        tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
        self._samples = np.repeat(tone, 2).reshape(1, -1)

    def samples(self, index: int) -> Any:
        """Frame ``index``'s interleaved stereo samples, shape (1, 1920)."""
        return self._samples

    async def recv(self) -> Any:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._index * 0.02
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = av.AudioFrame.from_ndarray(self.samples(self._index), format="s16",
                                           layout="stereo")
        frame.sample_rate = 48000
        frame.pts = self._index * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self._index += 1
        return frame


@dataclass
class Received:
    """What one received track (one mid) delivered to the client's decoder."""

    info: dict[str, str]
    frames: int = 0
    first_frame_at: float | None = None
    last_frame_at: float | None = None
    frame_times: list[float] = field(default_factory=list)


class LoopbackClient:
    """One participant: an aiortc peer that only ever answers the hub's offers."""

    def __init__(self, pid: str, hub: MediaHub, *, video: bool = True, audio: bool = True,
                 width: int = 160, height: int = 120, fps: int = 15,
                 config: MediaConfig | None = None,
                 audio_track: Callable[[], MediaStreamTrack] | None = None,
                 video_track: Callable[[], MediaStreamTrack] | None = None,
                 screen_track: Callable[[], MediaStreamTrack] | None = None) -> None:
        """``audio_track`` / ``video_track``: factories for real media to publish (e.g. a
        speech clip or fixture frames) instead of the synthetic tone and pattern."""
        self.pid = pid
        self.hub = hub
        self.config = config or hub.config
        self.publish_video = video
        self.publish_audio = audio
        self.size = (width, height, fps)
        self.pc: RTCPeerConnection | None = None
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.tracks: dict[str, dict[str, str]] = {}
        self.received: dict[str, Received] = {}
        self.offers = 0
        self.ice_servers: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._consumers: list[asyncio.Task[None]] = []
        self._published = False
        self.on_frame: Callable[[str, Any], None] | None = None
        self._audio_track = audio_track or SyntheticAudio
        self._video_track = video_track or (lambda: SyntheticVideo(*self.size))
        # A shared screen, as a browser's getDisplayMedia track: sent on the offer's
        # {"publish": "screen"} mid (replaceTrack, as static/js/media.js does).
        self._screen_track = screen_track

    async def connect(self, timeout: float = 10.0) -> None:
        """hello -> offer -> answer; returns once the connection is up."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        await self.hub.handle_signal(self.pid, {"type": "hello"})
        await self.wait_connected(timeout)

    async def wait_connected(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.pc is None or self.pc.connectionState != "connected":
            if time.monotonic() > deadline:
                state = None if self.pc is None else self.pc.connectionState
                raise TimeoutError(f"{self.pid}: not connected ({state})")
            await asyncio.sleep(0.02)

    async def wait_offers(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.offers < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.pid}: {self.offers} offers, wanted {count}")
            await asyncio.sleep(0.02)

    async def _run(self) -> None:
        while True:
            message = await self.inbox.get()
            try:
                await self._handle(message)
            except Exception as exc:  # surface in tests via the log, keep the loop alive
                print(f"client {self.pid}: {exc!r}")

    async def _handle(self, message: dict[str, Any]) -> None:
        if message["type"] == "config":
            await self._new_pc(message["iceServers"])
        elif message["type"] == "offer":
            assert self.pc is not None
            pc = self.pc
            sdp = message["sdp"]
            if self.config.loopback_only:
                sdp = filter_loopback_candidates(sdp)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            self.tracks = dict(message["tracks"])
            self._resync_video(pc)
            if not self._published:
                self._published = True
                if self.publish_audio:
                    pc.addTrack(self._audio_track())
                if self.publish_video:
                    pc.addTrack(self._video_track())
                await self._attach_screen(pc)
            answer = await pc.createAnswer()
            with internals.loopback_ice(self.config.loopback_only):
                await pc.setLocalDescription(answer)
            await self.hub.handle_signal(self.pid, {"type": "answer",
                                                    "sdp": pc.localDescription.sdp,
                                                    "seq": message["seq"]})
            self.offers += 1

    @staticmethod
    def _resync_video(pc: RTCPeerConnection) -> None:
        """As a browser's frame buffer: a hole that NACK did not repair ends at the next
        keyframe (aiortc's own buffer would wait up to 512 packets, about 30 s)."""
        for t in pc.getTransceivers():
            buffer = getattr(t.receiver, internals.JITTER_BUFFER_ATTR, None)
            done = getattr(buffer, "keyframe_start", None) is not None
            if t.kind == "video" and not done:
                internals.resync_at_keyframes(t.receiver, keyframe_start)

    async def _attach_screen(self, pc: RTCPeerConnection) -> None:
        if self._screen_track is None:
            return
        for t in pc.getTransceivers():
            if self.tracks.get(str(t.mid), {}).get("publish") == "screen":
                t.sender.replaceTrack(self._screen_track())
                t.direction = "sendrecv"

    async def _new_pc(self, ice_servers: list[dict[str, Any]]) -> None:
        await self._close_pc()
        self.ice_servers = ice_servers
        self._published = False
        self.received = {}
        # Loopback-only: no ICE servers (docs/protocol.md, "A non-browser client"), even when a
        # node hands out its loopback TURN server for browsers forced to relay.
        own = [] if self.config.loopback_only else ice_servers
        internals.tolerant_ice_consent()  # browsers' consent rule (RFC 7675), not aioice's
        pc = RTCPeerConnection(rtc_configuration(self.config, own))
        self.pc = pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._consumers.append(asyncio.ensure_future(self._consume(pc, track)))

    def _mid_of(self, pc: RTCPeerConnection, track: MediaStreamTrack) -> str | None:
        for t in pc.getTransceivers():
            if t.receiver.track is track:
                return str(t.mid) if t.mid is not None else None
        return None

    async def _consume(self, pc: RTCPeerConnection, track: MediaStreamTrack) -> None:
        mid = None
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if mid is None:
                mid = self._mid_of(pc, track)
                if mid is None:
                    continue
            rec = self.received.get(mid)
            if rec is None:
                rec = self.received[mid] = Received(self.tracks.get(mid, {}))
            now = time.monotonic()
            rec.frames += 1
            rec.last_frame_at = now
            if rec.first_frame_at is None:
                rec.first_frame_at = now
            if track.kind == "video":
                rec.frame_times.append(now)
            if self.on_frame is not None:
                self.on_frame(mid, frame)

    def mid_for(self, source: str, kind: str, link: str = "hearing") -> str | None:
        for mid, info in self.tracks.items():
            if (info.get("source"), info.get("kind"), info.get("link")) == (source, kind, link):
                return mid
        return None

    async def inbound(self) -> dict[str, int]:
        """packetsReceived per mid, from the client's own getStats()."""
        counts: dict[str, int] = {}
        if self.pc is None:
            return counts
        for t in self.pc.getTransceivers():
            if t.mid is None:
                continue
            report = await t.receiver.getStats()
            counts[str(t.mid)] = sum(s.packetsReceived for s in report.values()
                                     if s.type == "inbound-rtp")
        return counts

    async def inbound_by_route(self) -> dict[tuple[str, str, str], int]:
        """packetsReceived keyed by (source, kind, link) of forwarded mids."""
        out: dict[tuple[str, str, str], int] = {}
        for mid, n in (await self.inbound()).items():
            info = self.tracks.get(mid, {})
            if "source" in info:
                out[(info["source"], info["kind"], info["link"])] = n
        return out

    async def drop(self) -> None:
        """Vanish without a word (network loss as the server sees it)."""
        await self._close_pc()

    async def _close_pc(self) -> None:
        for task in self._consumers:
            task.cancel()
        self._consumers = []
        if self.pc is not None:
            pc, self.pc = self.pc, None
            with contextlib.suppress(Exception):
                await pc.close()

    async def close(self) -> None:
        await self._close_pc()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def wire(hub: MediaHub, clients: dict[str, LoopbackClient]) -> None:
    """Deliver the hub's signalling to the clients' inboxes."""

    def send(pid: str, message: dict[str, Any]) -> None:
        client = clients.get(pid)
        if client is not None:
            client.inbox.put_nowait(message)

    hub.send_signal = send
