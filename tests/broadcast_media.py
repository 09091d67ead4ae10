"""Helpers for the public broadcast tests: cameras of a known colour, and an HLS reader
that fetches every segment the public playlist lists and decodes its frames with PyAV,
as any HLS client would (through the public HTTP routes, no credentials)."""

from __future__ import annotations

import asyncio
import fractions
import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import av
import httpx
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

VIDEO_CLOCK = 90000

# Colours chosen far apart, and far from the studio's navy card and black letterbox.
MAGENTA = (255, 0, 255)  # the witness: must never be published
GREEN = (40, 190, 60)  # the party before the pause
YELLOW = (235, 225, 0)  # the party after the pause: must never be published
CYAN = (0, 200, 210)  # the party after the resume
BLUE = (30, 60, 210)  # the judge
COLOURS = (MAGENTA, GREEN, YELLOW, CYAN, BLUE)


class SolidVideo(MediaStreamTrack):  # type: ignore[misc]
    """A camera showing one colour (changeable while it runs), paced in real time."""

    kind = "video"

    def __init__(self, colour: tuple[int, int, int], size: tuple[int, int] = (320, 180), fps: int = 15) -> None:
        super().__init__()
        self.colour = colour
        self.size, self.fps = size, fps
        self._start: float | None = None
        self._index = 0

    async def recv(self) -> Any:
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._index / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        w, h = self.size
        img = np.empty((h, w, 3), np.uint8)
        img[:, :] = self.colour
        img[:8, (self._index * 4) % w:][:, :8] = 255  # a little motion, as a camera has
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = int(self._index * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._index += 1
        return frame


def share(picture: np.ndarray[Any, Any], colour: tuple[int, int, int], tol: int = 45) -> float:
    """The fraction of the picture's pixels within ``tol`` of ``colour`` on every channel."""
    diff = np.abs(picture.astype(np.int16) - np.array(colour, dtype=np.int16))
    return float(np.mean(np.all(diff <= tol, axis=2)))


@dataclass
class Segment:
    name: str
    fetched_at: float
    frames: int
    last: np.ndarray[Any, Any] | None  # the last frame, as decoded
    shows: dict[tuple[int, int, int], int]  # per test colour: frames showing it (> 1 %)
    audio_rms: float
    last_shows: dict[tuple[int, int, int], int] = field(default_factory=dict)  # the last frame

    @classmethod
    def of(cls, name: str, data: bytes) -> Segment:
        frames, rms = decode_segment(data)
        shows = {c: sum(1 for f in frames if share(f, c) > 0.01) for c in COLOURS}
        last = frames[-1] if frames else None
        last_shows = {c: int(last is not None and share(last, c) > 0.01) for c in COLOURS}
        return cls(name, time.monotonic(), len(frames), last, shows, rms, last_shows)


@dataclass
class HlsReader:
    """Follows a live public playlist and keeps every segment it lists, decoded."""

    base: str
    playlist: str
    segments: dict[str, Segment] = field(default_factory=dict)
    ended: bool = False

    def poll(self, http: httpx.Client) -> list[Segment]:
        try:
            return self._poll(http)
        except httpx.TransportError:  # e.g. a kept-alive connection the server closed: retry
            return []

    def _poll(self, http: httpx.Client) -> list[Segment]:
        r = http.get(self.base + self.playlist)
        if r.status_code == 404:
            return []
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/vnd.apple.mpegurl")
        self.ended = "#EXT-X-ENDLIST" in r.text
        folder = self.playlist.rsplit("/", 1)[0]
        new = []
        for line in r.text.splitlines():
            if line.startswith("#") or not line.strip() or line in self.segments:
                continue
            seg = http.get(f"{self.base}{folder}/{line}")
            if seg.status_code != 200:
                continue  # deleted as the live window moved on
            self.segments[line] = Segment.of(line, seg.content)
            new.append(self.segments[line])
        return new

    async def follow(self, http: httpx.Client, until: Callable[[], bool], timeout: float) -> None:
        """Poll (in a thread: the media peers of the test share its event loop) until ``until``."""
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, f"timed out; segments {self.summary()}"
            await asyncio.to_thread(self.poll, http)
            await asyncio.sleep(0.5)

    def summary(self) -> list[tuple[str, int, list[int], float]]:
        """Per segment: name, frames, the mean colour of its last frame, audio RMS."""
        return [
            (s.name, s.frames, [int(v) for v in s.last.mean(axis=(0, 1))] if s.last is not None else [],
             round(s.audio_rms, 4))
            for s in self.ordered()
        ]

    def seen(self, colour: tuple[int, int, int], names: Iterable[str] | None = None) -> int:
        """Frames showing ``colour`` (over 1 % of the picture), in ``names`` or all segments."""
        keep = set(self.segments) if names is None else set(names)
        return sum(s.shows[colour] for s in self.ordered() if s.name in keep)

    def ordered(self) -> list[Segment]:
        return [self.segments[k] for k in sorted(self.segments)]


def decode_segment(data: bytes) -> tuple[list[np.ndarray[Any, Any]], float]:
    frames: list[np.ndarray[Any, Any]] = []
    samples: list[np.ndarray[Any, Any]] = []
    with av.open(io.BytesIO(data), format="mpegts") as container:
        for frame in container.decode(*container.streams):
            if isinstance(frame, av.VideoFrame):
                frames.append(frame.to_ndarray(format="rgb24"))
            else:
                samples.append(frame.to_ndarray().reshape(-1))
    pcm = np.concatenate(samples) if samples else np.zeros(1)
    return frames, float(np.sqrt(np.mean(np.square(pcm.astype(np.float64)))))
