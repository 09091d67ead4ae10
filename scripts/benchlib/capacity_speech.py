"""The capacity bench's speech: two speakers taking turns, Opus packets with their levels.

Split from ``scripts/bench_capacity.py`` (which re-exports these names; bench_cluster uses
``noise`` and ``opus_packets``).
"""

from __future__ import annotations

import fractions

import av
import numpy as np

from benchlib.audio_levels import levels_dbov

RATE = 16000
GAP_S = 2.5  # silence after each clip before the other speaker's turn
SPEAKERS = ("judge", "witness")


def opus_packets(pcm16k: bytes) -> list[bytes]:
    """20 ms Opus packets of 16 kHz mono PCM (upsampled to 48 kHz stereo)."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "stereo", "s16"
    enc.time_base = fractions.Fraction(1, 48000)
    x = np.repeat(np.frombuffer(pcm16k, "<i2"), 3)
    x = x[: len(x) - len(x) % 960]
    out: list[bytes] = []
    for i in range(0, len(x), 960):
        f = av.AudioFrame.from_ndarray(np.repeat(x[i:i + 960], 2).reshape(1, -1), format="s16",
                                       layout="stereo")
        f.sample_rate, f.pts = 48000, i
        out.extend(bytes(p) for p in enc.encode(f))
    out.extend(bytes(p) for p in enc.encode(None))
    return out[: len(x) // 960]


def noise(seconds: float, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).normal(0, 10, int(seconds * RATE)).astype("<i2").tobytes()


class Speech:
    """Both speakers' audio loops: the judge reads clip 0, the witness clip 1, and so on."""

    def __init__(self, clips: list[bytes], spans: list[tuple[float, float]]) -> None:
        turns = [(SPEAKERS[i % 2], pcm, span) for i, (pcm, span) in enumerate(zip(clips, spans, strict=True))]
        self.cues: dict[str, list[tuple[int, float, float]]] = {s: [] for s in SPEAKERS}
        tracks: dict[str, list[bytes]] = {s: [] for s in SPEAKERS}
        self.levels: dict[str, list[int]] = {s: [] for s in SPEAKERS}  # -dBov per packet
        for who, pcm, (w0, w1) in turns:
            n = len(pcm) // 640 + int(GAP_S * 50)
            for s in SPEAKERS:
                if s == who:
                    self.cues[s].append((len(tracks[s]), w0, w1))  # packet index, word span
                    audio = pcm + noise(GAP_S)
                else:
                    audio = noise(n / 50, seed=len(tracks[s]))
                tracks[s] += opus_packets(audio)[:n]
                self.levels[s] += levels_dbov(audio)[:n]
        self.tracks = tracks
        self.quiet = opus_packets(noise(2.0, seed=9))
        self.quiet_levels = levels_dbov(noise(2.0, seed=9))
        self.model_first: list[float] = []  # see model_first_partial()

    def marks(self, who: str) -> set[int]:
        """Loop positions of each clip's first and last word (20 ms packets)."""
        return {i + round(w * 50) for i, w0, w1 in self.cues.get(who, []) for w in (w0, w1)}

    def cue_pairs(self, who: str) -> list[tuple[int, int]]:
        return [(i + round(w0 * 50), i + round(w1 * 50)) for i, w0, w1 in self.cues[who]]
