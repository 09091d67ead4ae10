"""Any `av.AudioFrame` -> 16 kHz mono s16 bytes, the only input the recognizer takes."""

from __future__ import annotations

import av

RATE = 16000
BYTES_PER_SAMPLE = 2


class Resampler16k:
    """One per audio stream: libswresample keeps filter state (and a few ms of delay) between
    frames, so sharing one across streams, or making one per frame, corrupts the audio.

    If the input format, layout or rate changes mid-stream (a renegotiated track), the old
    resampler is drained and a new one is built instead of failing.
    """

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None
        self._key: tuple[str, str, int] | None = None

    def convert(self, frame: av.AudioFrame) -> bytes:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        out = b""
        if self._resampler is None or key != self._key:
            out = self.flush()
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
            self._key = key
        # Timestamps are ours to count (in samples); PyAV would otherwise check pts continuity.
        frame.pts = None
        return out + _to_bytes(self._resampler.resample(frame))

    def flush(self) -> bytes:
        """Drain the resampler's delay line (end of stream or format change)."""
        if self._resampler is None:
            return b""
        out = _to_bytes(self._resampler.resample(None))
        self._resampler = None
        self._key = None
        return out


def _to_bytes(frames: list[av.AudioFrame]) -> bytes:
    # s16 mono is packed: one plane, shape (1, samples).
    return b"".join(f.to_ndarray().tobytes() for f in frames)
