"""Passthrough fan-out: one hub per received source track, one packet track per subscriber.

The publisher's depayloaded frames (see ``aiortc_internals.tap_receiver``) are
wrapped once in an ``av.Packet`` and shared by every subscriber's
:class:`ForwardTrack`; aiortc's sender then only re-packetises them
(``encoder.pack``). Nothing is decoded or encoded for forwarding.

Keyframes: a subscriber is gated (gets nothing) until a keyframe arrives, when it
is new, re-enabled, or after the hub dropped one of its frames. Subscriber
PLI/FIR and gating both ask the publisher for a keyframe; requests are spaced
by ``min_interval`` but always honoured (a pending request is sent when the
interval ends, and repeated while any subscriber still waits).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from courtroom.domain.routing import MediaKind
from media.rtp import CachedPacket, DownTrack, PacketCache, fan_out, keyframe_start


def is_keyframe(mime_type: str, data: bytes) -> bool:
    """Whether an encoded frame can start decoding."""
    mime = mime_type.lower()
    if mime == "video/vp8":
        return bool(data) and (data[0] & 0x01) == 0  # VP8 frame tag: 0 = key frame
    if mime == "video/h264":
        return _h264_has_idr(data)
    return True  # audio: every frame decodes on its own


def _h264_has_idr(data: bytes) -> bool:
    i = 0
    n = len(data)
    while i + 3 < n:
        if data[i] == 0 and data[i + 1] == 0 and (
            data[i + 2] == 1 or (data[i + 2] == 0 and i + 4 < n and data[i + 3] == 1)
        ):
            start = i + 3 if data[i + 2] == 1 else i + 4
            if start < n and (data[start] & 0x1F) in (5, 7):  # IDR slice or SPS
                return True
            i = start
        else:
            i += 1
    return False


@dataclass(slots=True)
class EncodedFrame:
    """One depayloaded frame as received, shared by every consumer (read-only)."""

    mime_type: str
    clock_rate: int
    data: bytes
    timestamp: int  # RTP units, 0 at the publisher's first frame on this receiver
    keyframe: bool
    arrival: float  # time.monotonic() when the frame was complete at the server
    epoch: int  # bumps when the publisher's receiver changes (reconnect)
    # audio: the sender's level of this packet in -dBov (RFC 6464: 0 loudest, 127 silence);
    # None when the sender does not send the ssrc-audio-level extension
    audio_level: int | None = None
    _packet: Any = field(default=None, repr=False)

    def packet(self) -> Any:
        """The shared ``av.Packet`` (built lazily, once)."""
        if self._packet is None:
            packet = av.Packet(self.data)
            packet.pts = self.timestamp
            packet.time_base = fractions.Fraction(1, self.clock_rate)
            self._packet = packet
        return self._packet


class FrameSink(Protocol):
    """Taps and recorders: must return quickly (never block the event loop)."""

    def offer(self, frame: EncodedFrame) -> None: ...


class KeyframeRequester:
    """Rate-limited keyframe requests that are never dropped, only deferred.

    A request stands until a keyframe answers it (:meth:`satisfied`): one that none answers
    is sent again after ``retry_interval`` s, doubling up to ``retry_max`` s, as a browser
    keeps asking while its decoder waits. On a lossy path the PLI itself, or the keyframe it
    asked for, can be lost; asking once left the taps and the recorder waiting for a keyframe
    that never came (the media-faults test's stall after 10 % loss).
    """

    def __init__(self, send: Callable[[], Awaitable[bool]], *, min_interval: float = 0.25,
                 retry_while: Callable[[], bool] = lambda: False,
                 retry_interval: float = 1.0, retry_max: float = 4.0) -> None:
        self._send = send
        self._min_interval = min_interval
        self._retry_while = retry_while
        self._retry_interval = retry_interval
        self._retry_max = retry_max
        self._unanswered = 0  # PLIs sent since the last keyframe, while a request stands
        self._last = -1e9
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Future[None] | None = None
        self.pending = False  # a request no keyframe has answered yet
        self.sent = 0

    def request(self) -> None:
        self.pending = True
        self._schedule(self._min_interval)

    def _schedule(self, interval: float) -> None:
        if self._timer is not None:
            return  # one is already scheduled
        wait = self._last + interval - time.monotonic()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(0.0, wait), self._fire)

    def satisfied(self) -> None:
        """A keyframe arrived: the pending retry is only needed if someone still waits."""
        self.pending = False
        self._unanswered = 0
        if self._timer is not None and not self._retry_while():
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        self._last = time.monotonic()
        self.sent += 1
        self._task = asyncio.ensure_future(self._send_and_retry())  # keep a reference

    async def _send_and_retry(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self._send()
        if self._retry_while():
            self.request()
        elif self.pending:
            self._unanswered += 1
            backoff = self._retry_interval * 2 ** (self._unanswered - 1)
            self._schedule(min(self._retry_max, backoff))

    def close(self) -> None:
        self.pending = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class ForwardTrack(MediaStreamTrack):  # type: ignore[misc]
    """A subscriber's track: yields the hub's shared packets, never frames.

    ``enabled=False`` (a cut) drops everything at once; ``recv`` then just waits,
    so the sender and transceiver stay in place and no renegotiation is needed.
    """

    def __init__(self, hub: SourceHub, label: str, *, maxsize: int) -> None:
        super().__init__()
        self.kind = hub.kind.sdp  # aiortc's track kind: a screen is video
        self.hub = hub
        self.label = label
        self._queue: deque[EncodedFrame] = deque()
        self._maxsize = maxsize
        self._wakeup = asyncio.Event()
        self._enabled = True
        self.gated = hub.kind.is_video
        self.forwarded = 0  # packets handed to the sender
        self.dropped = 0  # frames dropped from this subscriber's queue (slow sender)
        self.regates = 0  # times a drop left this subscriber waiting for a keyframe
        self.gated_drops = 0  # frames not forwarded while gated
        self.keyframe_requests = 0  # PLI/FIR from this subscriber, relayed upstream
        self.latencies: deque[float] = deque(maxlen=2048)
        self.on_forward: Callable[[EncodedFrame], None] | None = None
        # Asked before a frame is queued and again before it is handed to the sender: the hub
        # sets it to "is my route in the current plan?", so a frame can never leave on a route
        # the plan has removed, whatever the enabled flag or the queue say.
        self.allowed: Callable[[], bool] = lambda: True
        self.refused = 0  # frames the plan check stopped
        # timestamps are rebased so a publisher reconnect stays monotonic downstream
        self._epoch: int | None = None
        self._offset = 0
        self._last_out: int | None = None
        self._last_in: int = 0
        self.down: DownTrack | None = None  # the RTP path (media.rtp), when the hub uses it

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        if enabled == self._enabled:
            return
        self._enabled = enabled
        if self.down is not None:
            self.down.reset()  # a new run, on a keyframe for video
        if not enabled:
            self._queue.clear()
        elif self.hub.kind.is_video:
            self.gated = True
            self.hub.request_keyframe()

    def push(self, frame: EncodedFrame) -> None:
        if not self._enabled or self.readyState != "live":
            return
        if not self.allowed():
            self.refused += 1
            return
        if self.gated:
            if not frame.keyframe:
                self.gated_drops += 1
                return
            self.gated = False
        if len(self._queue) >= self._maxsize:
            # a slow sender: drop the backlog, and for video wait for a fresh keyframe
            self.dropped += len(self._queue)
            self._queue.clear()
            if self.hub.kind.is_video and not frame.keyframe:
                self.gated = True
                self.regates += 1
                self.gated_drops += 1
                self.hub.request_keyframe()
                return
        self._queue.append(frame)
        self._wakeup.set()

    def on_keyframe_request(self) -> None:
        """The subscriber sent PLI or FIR for this track: ask the publisher."""
        self.keyframe_requests += 1
        self.hub.request_keyframe()

    async def recv(self) -> Any:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            if self._queue and not self.allowed():
                self.refused += len(self._queue)
                self._queue.clear()
            if self._queue:
                frame = self._queue.popleft()
                self.forwarded += 1
                self.latencies.append(time.monotonic() - frame.arrival)
                if self.on_forward is not None:
                    self.on_forward(frame)
                return self._rebased(frame)
            self._wakeup.clear()
            await self._wakeup.wait()

    def _rebased(self, frame: EncodedFrame) -> Any:
        if frame.epoch != self._epoch:
            if self._last_out is not None:
                # continue one nominal frame after the last timestamp sent
                step = frame.clock_rate // (50 if self.kind == "audio" else 15)
                self._offset = self._last_out + step - frame.timestamp
            self._epoch = frame.epoch
        out = frame.timestamp + self._offset
        self._last_out = out
        if self._offset == 0:
            return frame.packet()
        packet = av.Packet(frame.data)
        packet.pts = out
        packet.time_base = fractions.Fraction(1, frame.clock_rate)
        return packet

    def stop(self) -> None:
        super().stop()
        self._wakeup.set()
        self.hub.unsubscribe(self)


class SourceHub:
    """Fan-out of one participant's track of one kind; outlives their peer connections."""

    def __init__(self, participant: str, kind: MediaKind, *, min_keyframe_interval: float = 0.25,
                 queue_frames: int | None = None, rtp: bool = False,
                 mime_type: str | None = None) -> None:
        self.participant = participant
        self.kind = kind
        # rtp=True: subscribers get packets (media.rtp) and frames only feed the sinks
        self.rtp = rtp
        self.rtp_mime = mime_type or ("audio/opus" if kind is MediaKind.AUDIO else "video/VP8")
        self.cache = PacketCache()
        self.packets_in = 0
        self.subscribers: set[ForwardTrack] = set()
        self.sinks: list[FrameSink] = []
        self.frames_in = 0
        self.keyframes_in = 0
        self.keyframe_requests = 0  # request_keyframe() calls (gates, PLI/FIR, taps, recorder)
        self.keyframe_waits: deque[float] = deque(maxlen=256)  # first request -> keyframe, s
        self._wait_since: float | None = None
        self.epoch = 0
        self.mime_type: str | None = None
        self._queue_frames = queue_frames or (8 if kind.is_video else 25)
        self._pli: Callable[[], Awaitable[bool]] | None = None
        self.keyframes = KeyframeRequester(self._send_pli, min_interval=min_keyframe_interval,
                                           retry_while=self._anyone_waiting)

    # publisher side ---------------------------------------------------------
    def attach(self, send_pli: Callable[[], Awaitable[bool]]) -> None:
        """A (new) receiver feeds this hub; ``send_pli`` asks its publisher for a keyframe."""
        self._pli = send_pli
        self.epoch += 1
        for track in self.subscribers:
            if track.down is not None:
                track.down.reset()
        if self.kind.is_video:
            for track in self.subscribers:
                track.gated = True
            if self.subscribers:
                self.request_keyframe()

    def detach(self) -> None:
        self._pli = None

    def frames_wanted(self) -> bool:
        """Whether anyone consumes assembled frames (the frame path, taps, recorder)."""
        return (not self.rtp or bool(self.sinks)
                or any(t.down is None for t in self.subscribers))

    def on_packet(self, packet: Any) -> None:
        """The RTP path: one received packet, cached once and forwarded to every subscriber."""
        if not self.rtp:
            return
        video = self.kind.is_video
        key = keyframe_start(self.rtp_mime, packet) if video else True
        arrival = time.monotonic()
        cached = CachedPacket(packet.sequence_number, packet.timestamp, packet.marker,
                              packet.payload, key, self.epoch, arrival)
        self.cache.put(cached)
        self.packets_in += 1
        if not video or packet.marker:
            self.frames_in += 1
        if video and key:
            self.keyframes_in += 1
            if self._wait_since is not None:
                self.keyframe_waits.append(arrival - self._wait_since)
                self._wait_since = None
        if self.subscribers:
            fan_out(cached, self.subscribers)
        if video and key and not self.sinks:
            self.keyframes.satisfied()  # (with taps or a recorder: once one is assembled)

    def on_frame(self, mime_type: str, clock_rate: int, data: bytes, timestamp: int,
                 audio_level: int | None = None) -> None:
        frame = EncodedFrame(mime_type, clock_rate, data, timestamp,
                             is_keyframe(mime_type, data), time.monotonic(), self.epoch,
                             audio_level)
        self.mime_type = mime_type
        if self.rtp:
            # subscribers get packets; frames feed the taps and the recorder, and only a
            # track with no RTP sender to write to (a stand-in peer) still gets frames
            for track in self.subscribers:
                if track.down is None:
                    track.push(frame)
            if frame.keyframe and self.kind.is_video:
                self.keyframes.satisfied()  # a whole keyframe: the taps and recorder can start
            for sink in self.sinks:
                sink.offer(frame)
            return
        self.frames_in += 1
        if frame.keyframe and self.kind.is_video:
            self.keyframes_in += 1
            if self._wait_since is not None:
                self.keyframe_waits.append(frame.arrival - self._wait_since)
                self._wait_since = None
        for track in self.subscribers:
            track.push(frame)
        if frame.keyframe:
            self.keyframes.satisfied()
        for sink in self.sinks:
            sink.offer(frame)

    # subscriber side --------------------------------------------------------
    def subscribe(self, label: str) -> ForwardTrack:
        track = ForwardTrack(self, label, maxsize=self._queue_frames)
        self.subscribers.add(track)
        if self.kind.is_video:
            self.request_keyframe()
        return track

    def unsubscribe(self, track: ForwardTrack) -> None:
        self.subscribers.discard(track)

    def request_keyframe(self) -> None:
        if self.kind.is_video:
            self.keyframe_requests += 1
            if self._wait_since is None:
                self._wait_since = time.monotonic()
            self.keyframes.request()

    def _anyone_waiting(self) -> bool:
        return any(t.gated and t.enabled for t in self.subscribers)

    async def _send_pli(self) -> bool:
        if self._pli is None:
            return False
        return await self._pli()

    def close(self) -> None:
        self.keyframes.close()
        for track in list(self.subscribers):
            track.stop()
