"""Audio level of 16 kHz mono s16 PCM windows, for loud-noise / shouting observations.

Calibration (docs/vision.md): on the ASR fixtures normal speech peaks at -13 dBFS RMS over
250 ms windows (LJSpeech, loudness-normalised studio speech) and -20 to -36 dBFS for phone/PC
microphone speech; so -10 dBFS RMS sustained over two windows, or clipping, is well above speech.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

SAMPLE_RATE: Final = 16_000
SILENCE_DBFS: Final = -120.0
LOUD_DBFS: Final = -10.0
CLIP_FRACTION: Final = 0.01  # share of samples at full scale that counts as clipping


@dataclass(frozen=True, slots=True)
class LoudnessObservation:
    t: float  # start of the window, seconds on the participant's media clock
    duration: float
    rms_dbfs: float
    peak_dbfs: float
    clipped_fraction: float

    @property
    def loud(self) -> bool:
        return self.rms_dbfs >= LOUD_DBFS or self.clipped_fraction >= CLIP_FRACTION


def _samples(pcm: bytes | npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    if isinstance(pcm, bytes | bytearray | memoryview):
        return np.frombuffer(pcm, dtype="<i2")
    return pcm


def rms_dbfs(pcm: bytes | npt.NDArray[np.int16]) -> float:
    """RMS level relative to a full-scale square wave (0 dBFS); silence is -120."""
    x = _samples(pcm).astype(np.float64) / 32768.0
    if x.size == 0:
        return SILENCE_DBFS
    ms = float(np.mean(x * x))
    return max(SILENCE_DBFS, 10.0 * math.log10(ms)) if ms > 0 else SILENCE_DBFS


def measure(t: float, pcm: bytes | npt.NDArray[np.int16]) -> LoudnessObservation:
    x = _samples(pcm)
    n = int(x.size)
    peak = int(np.max(np.abs(x.astype(np.int32)))) if n else 0
    clipped = float(np.count_nonzero((x >= 32767) | (x <= -32767))) / n if n else 0.0
    return LoudnessObservation(
        t=t,
        duration=n / SAMPLE_RATE,
        rms_dbfs=rms_dbfs(x),
        peak_dbfs=20.0 * math.log10(peak / 32768.0) if peak else SILENCE_DBFS,
        clipped_fraction=clipped,
    )


class LoudnessMeter:
    """Cuts a stream of PCM chunks into fixed windows and measures each.

    Chunks of any size go in; one observation comes out per complete window. ``t`` of each window
    is derived from the samples counted so far plus the stream's start time.
    """

    def __init__(self, *, window_s: float = 0.25, start_t: float = 0.0) -> None:
        self._window = round(window_s * SAMPLE_RATE)
        self._buf = np.zeros(0, dtype=np.int16)
        self._t = start_t

    def push(self, pcm: bytes | npt.NDArray[np.int16]) -> list[LoudnessObservation]:
        self._buf = np.concatenate([self._buf, _samples(pcm)])
        out: list[LoudnessObservation] = []
        while self._buf.size >= self._window:
            out.append(measure(self._t, self._buf[: self._window]))
            self._buf = self._buf[self._window :]
            self._t += self._window / SAMPLE_RATE
        return out
