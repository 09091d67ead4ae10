"""Recording as received: remux each source's encoded frames into WebM segments.

No decode, no encode: the publisher's VP8/Opus frames (the same shared frames the
forwarding hub sees) are muxed with ``add_mux_stream``. Crash safety comes from
two things: a new file every ``segment_seconds`` (video segments start on a
keyframe, so each file plays alone), and short Matroska clusters (0.5 s) flushed to
the OS as soon as they close (the muxer keeps the open cluster in memory), so a
SIGKILL loses at most the last half second of the current segment, which stays
playable up to there (measured: ffprobe/ffmpeg read it, without a duration).

One :class:`RecordingClock` per hearing: every segment's ``start``/``end`` is in
seconds on that clock, which transcript and flag events use too.

Gaps: when a track's frames stop for more than ``GAP_S`` (packet loss, a dropped network
path, a publisher that froze) and then resume, the recorder marks the gap ``(t0, t1)`` on the
recording clock: in the :class:`FinishedFile` of the segment in which the media resumed, and
at once through ``on_gap`` (the server logs a ``media_gap`` event, which the transcript and
the record read on the same clock).
"""

from __future__ import annotations

import fractions
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av

from media.forward import EncodedFrame

_MUX_CODECS = {"video/vp8": "vp8", "audio/opus": "opus", "video/h264": "h264"}
GAP_S = 1.0  # frames missing for longer than this are a gap in the recording


class RecordingClock:
    """Monotonic seconds since the hearing's recording origin."""

    def __init__(self) -> None:
        self._origin = time.monotonic()
        self.origin_utc = datetime.now(UTC)

    def now(self) -> float:
        return time.monotonic() - self._origin

    def at(self, monotonic: float) -> float:
        """A ``time.monotonic()`` reading on this clock."""
        return monotonic - self._origin


@dataclass(frozen=True, slots=True)
class FinishedFile:
    path: Path
    sha256: str
    size: int
    participant: str
    kind: str
    start: float  # recording clock seconds, first frame
    end: float  # recording clock seconds, last frame
    gaps: tuple[tuple[float, float], ...] = ()  # (t0, t1): no frames, recording clock


def vp8_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 key frame header (RFC 6386 §9.1)."""
    if len(data) < 10 or data[0] & 1 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    return width, int.from_bytes(data[8:10], "little") & 0x3FFF


class _Segment:
    def __init__(self, path: Path, frame: EncodedFrame, start: float) -> None:
        self.path = path
        self.start = start
        self.end = start
        self.first_ts = frame.timestamp
        self.last_pts = -1
        self.gaps: list[tuple[float, float]] = []
        self.time_base = fractions.Fraction(1, frame.clock_rate)
        self.container: Any = av.open(
            str(path), "w", format="webm",
            # short clusters: the muxer holds a cluster in memory until it closes
            options={"cluster_time_limit": "500"},
            container_options={"flush_packets": "1"},
        )
        mime = frame.mime_type.lower()
        if mime == "audio/opus":
            stream = self.container.add_mux_stream("opus", rate=48000)
        else:
            width, height = vp8_dimensions(frame.data) or (640, 360)
            stream = self.container.add_mux_stream(_MUX_CODECS[mime], width=width, height=height)
        stream.time_base = self.time_base
        self.stream = stream

    def write(self, frame: EncodedFrame, now: float) -> None:
        pts = frame.timestamp - self.first_ts
        if pts <= self.last_pts:
            return  # muxers reject non-increasing timestamps (reordering, reconnect)
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = pts
        packet.time_base = self.time_base
        packet.stream = self.stream
        packet.is_keyframe = frame.keyframe
        self.container.mux(packet)
        self.last_pts = pts
        self.end = now

    def close(self) -> None:
        self.container.close()


class TrackRecorder:
    """A :class:`~media.forward.FrameSink` writing one participant's track of one kind."""

    def __init__(self, directory: Path, participant: str, kind: str, clock: RecordingClock,
                 on_finished: Callable[[FinishedFile], None], *, segment_seconds: float = 10.0,
                 request_keyframe: Callable[[], None] | None = None,
                 on_gap: Callable[[str, str, float, float], None] | None = None) -> None:
        self.directory = directory
        self.participant = participant
        self.kind = kind
        self.clock = clock
        self.on_finished = on_finished
        self.segment_seconds = segment_seconds
        self.request_keyframe = request_keyframe
        self.on_gap = on_gap
        self.finished: list[FinishedFile] = []
        self.gaps: list[tuple[float, float]] = []
        self._last_frame_at: float | None = None
        self._pending_gaps: list[tuple[float, float]] = []  # for the next segment
        self._segment: _Segment | None = None
        self._epoch: int | None = None
        self._index = 0
        directory.mkdir(parents=True, exist_ok=True)

    def offer(self, frame: EncodedFrame) -> None:
        if frame.mime_type.lower() not in _MUX_CODECS:
            return
        now = self.clock.at(frame.arrival)
        self._mark_gap(now)
        seg = self._segment
        if seg is not None and (frame.epoch != self._epoch
                                or now - seg.start >= self.segment_seconds):
            if frame.keyframe or frame.epoch != self._epoch:
                self._finish()
                seg = None
            elif self.request_keyframe is not None:
                self.request_keyframe()  # rate-limited by the hub
        if seg is None:
            if not frame.keyframe:
                if self.request_keyframe is not None:
                    self.request_keyframe()
                return
            self._index += 1
            name = f"{self.participant}-{self.kind}-{self._index:05d}-{int(now * 1000):010d}.webm"
            seg = self._segment = _Segment(self.directory / name, frame, now)
            self._epoch = frame.epoch
            seg.gaps.extend(self._pending_gaps)
            self._pending_gaps = []
        seg.write(frame, now)

    def _mark_gap(self, now: float) -> None:
        last, self._last_frame_at = self._last_frame_at, now
        if last is None or now - last <= GAP_S:
            return
        gap = (round(last, 3), round(now, 3))
        self.gaps.append(gap)
        if self._segment is not None:
            self._segment.gaps.append(gap)
        else:
            self._pending_gaps.append(gap)
        if self.on_gap is not None:
            self.on_gap(self.participant, self.kind, *gap)

    def _finish(self) -> None:
        seg, self._segment = self._segment, None
        if seg is None:
            return
        seg.close()
        digest = hashlib.sha256()
        size = 0
        with seg.path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
        done = FinishedFile(seg.path, digest.hexdigest(), size, self.participant, self.kind,
                            seg.start, seg.end, tuple(seg.gaps))
        self.finished.append(done)
        self.on_finished(done)

    def close(self) -> None:
        self._finish()
