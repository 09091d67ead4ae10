from __future__ import annotations

import av
import numpy as np

from asr.resample import Resampler16k


def _tone(rate: int, seconds: float, channels: int) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    x = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.tile(x, (channels, 1))


def _run(frames: list[av.AudioFrame]) -> bytes:
    r = Resampler16k()
    return b"".join(r.convert(f) for f in frames) + r.flush()


def test_stereo_48k_s16_packed_becomes_16k_mono() -> None:
    x = (_tone(48000, 1.0, 2) * 20000).astype(np.int16)  # amplitude 10000 on both channels
    frames = []
    for i in range(0, x.shape[1], 960):  # aiortc: 20 ms frames
        block = x[:, i : i + 960]
        packed = block.T.reshape(1, -1).copy()  # s16 is interleaved: (1, samples * channels)
        f = av.AudioFrame.from_ndarray(packed, format="s16", layout="stereo")
        f.sample_rate = 48000
        f.pts = i
        frames.append(f)
    out = np.frombuffer(_run(frames), dtype="<i2")
    assert out.size == 16000
    # a tone, not silence or garbage: same loudness after the conversion
    rms = float(np.sqrt(np.mean(out[1000:-1000].astype(np.float64) ** 2)))
    assert 0.8 * 10000 / np.sqrt(2) < rms < 1.2 * 10000 / np.sqrt(2)


def test_mono_44k1_float_becomes_16k_mono() -> None:
    x = _tone(44100, 0.5, 1).astype(np.float32)
    frames = []
    for i in range(0, x.shape[1], 441):
        f = av.AudioFrame.from_ndarray(x[:, i : i + 441].copy(), format="flt", layout="mono")
        f.sample_rate = 44100
        frames.append(f)
    out = np.frombuffer(_run(frames), dtype="<i2")
    assert out.size == 8000


def test_format_change_mid_stream() -> None:
    r = Resampler16k()
    a = av.AudioFrame.from_ndarray(np.zeros((1, 1920), np.int16), format="s16", layout="stereo")
    a.sample_rate = 48000
    b = av.AudioFrame.from_ndarray(np.zeros((1, 441), np.float32), format="flt", layout="mono")
    b.sample_rate = 44100
    total = len(r.convert(a)) + len(r.convert(b)) + len(r.flush())
    assert total // 2 == 320 + 160
