"""The broadcast's sound: each allowed voice decoded once more and mixed, 48 kHz mono.

An :class:`AudioSink` sits on a participant's audio source hub beside the recorder and
the transcript's tap. It only keeps the encoded Opus frames (the event loop must never
wait); the studio thread decodes and mixes them at each tick. A voice the public may not
hear now (paused, excluded, cut) is read and thrown away undecoded.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import av
import numpy as np

from media.forward import EncodedFrame

RATE = 48_000
_PREBUFFER_TICKS = 2  # a voice is mixed once this much has arrived: absorbs arrival jitter
_MAX_BUFFER_S = 0.5  # a voice further behind than this loses its oldest samples


class AudioSink:
    """Encoded frames of one participant's audio, taken on the event loop (never blocks)."""

    def __init__(self, participant: str, *, maxlen: int = 200) -> None:
        self.participant = participant
        self._frames: deque[EncodedFrame] = deque(maxlen=maxlen)

    def offer(self, frame: EncodedFrame) -> None:
        self._frames.append(frame)

    def drain(self) -> list[EncodedFrame]:
        out: list[EncodedFrame] = []
        while True:
            try:
                out.append(self._frames.popleft())
            except IndexError:
                return out


class _Voice:
    def __init__(self) -> None:
        self.codec: Any = av.CodecContext.create("libopus", "r")
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        self.pending = np.zeros(0, dtype=np.int16)
        self.playing = False

    def decode(self, frames: list[EncodedFrame]) -> None:
        chunks: list[np.ndarray[Any, Any]] = [self.pending]
        for frame in frames:
            try:
                decoded = self.codec.decode(av.Packet(frame.data))
            except av.FFmpegError:
                continue
            for out in decoded:
                for resampled in self.resampler.resample(out):
                    chunks.append(resampled.to_ndarray().reshape(-1))
        self.pending = np.concatenate(chunks)
        if len(self.pending) > _MAX_BUFFER_S * RATE:
            self.pending = self.pending[-int(_MAX_BUFFER_S * RATE) :]

    def take(self, n: int) -> np.ndarray[Any, Any] | None:
        if not self.playing:
            if len(self.pending) < _PREBUFFER_TICKS * n:
                return None
            self.playing = True
        chunk, self.pending = self.pending[:n], self.pending[n:]
        if len(chunk) < n:  # ran dry: wait for the buffer to refill before playing on
            self.playing = False
            chunk = np.concatenate([chunk, np.zeros(n - len(chunk), dtype=np.int16)])
        return chunk


class Mixer:
    """Mixes the voices the public may hear, one tick at a time (studio thread only)."""

    def __init__(self, samples_per_tick: int) -> None:
        self.n = samples_per_tick
        self._sinks: dict[str, AudioSink] = {}
        self._voices: dict[str, _Voice] = {}
        self._lock = threading.Lock()  # sinks are added on the event loop

    def add(self, sink: AudioSink) -> None:
        with self._lock:
            self._sinks[sink.participant] = sink

    def tick(
        self, audible: frozenset[str], fresh_after: float = 0.0
    ) -> tuple[np.ndarray[Any, Any], dict[str, float]]:
        """The next tick's mixed samples and each audible voice's loudness (RMS); frames that
        reached the server before ``fresh_after`` (monotonic) are thrown away undecoded."""
        with self._lock:
            sinks = list(self._sinks.values())
        mixed = np.zeros(self.n, dtype=np.int32)
        levels: dict[str, float] = {}
        for sink in sinks:
            frames = [f for f in sink.drain() if f.arrival >= fresh_after]
            pid = sink.participant
            if pid not in audible:
                self._voices.pop(pid, None)  # thrown away undecoded; a new voice later
                continue
            voice = self._voices.setdefault(pid, _Voice())
            voice.decode(frames)
            chunk = voice.take(self.n)
            if chunk is None:
                continue
            mixed += chunk
            levels[pid] = float(np.sqrt(np.mean(chunk.astype(np.float64) ** 2)))
        return np.clip(mixed, -32768, 32767).astype(np.int16), levels
