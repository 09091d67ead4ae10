"""The capacity bench's speech: two speakers taking turns, Opus packets with their levels,
and the model's own share of each caption latency on the same clips.

Split from ``scripts/bench_capacity.py``; bench_cluster uses ``noise`` and ``opus_packets``.
"""

from __future__ import annotations

import fractions
from pathlib import Path
from typing import Any

import av
import numpy as np

from benchlib.audio_levels import levels_dbov

RATE = 16000
GAP_S = 2.5  # silence after each clip before the other speaker's turn
SPEAKERS = ("judge", "witness")


def opus_packets(pcm16k: bytes, ptime_ms: int = 20) -> list[bytes]:
    """Opus packets of ``ptime_ms`` (20: the browsers' default; 40: what the server's offers
    ask for, media/peer.py) of 16 kHz mono PCM (upsampled to 48 kHz stereo)."""
    step = 48 * ptime_ms
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "stereo", "s16"
    enc.time_base = fractions.Fraction(1, 48000)
    enc.options = {"frame_duration": str(ptime_ms)}
    x = np.repeat(np.frombuffer(pcm16k, "<i2"), 3)
    x = x[: len(x) - len(x) % step]
    out: list[bytes] = []
    for i in range(0, len(x), step):
        f = av.AudioFrame.from_ndarray(np.repeat(x[i:i + step], 2).reshape(1, -1), format="s16",
                                       layout="stereo")
        f.sample_rate, f.pts = 48000, i
        out.extend(bytes(p) for p in enc.encode(f))
    out.extend(bytes(p) for p in enc.encode(None))
    return out[: len(x) // step]


def offered_ptime(sdp: str) -> int:
    """The audio packet duration an offer asks for (``a=ptime`` in its audio section), or 20
    when it asks nothing (what browsers then send)."""
    audio = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            audio = line.startswith("m=audio ")
        elif audio and line.startswith("a=ptime:"):
            return int(line.split(":", 1)[1])
    return 20


def noise(seconds: float, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).normal(0, 10, int(seconds * RATE)).astype("<i2").tobytes()


class Speech:
    """Both speakers' audio loops: the judge reads clip 0, the witness clip 1, and so on, in
    packets of ``ptime_ms``."""

    def __init__(self, clips: list[bytes], spans: list[tuple[float, float]],
                 ptime_ms: int = 20) -> None:
        self.clips, self.spans, self.ptime_ms = clips, spans, ptime_ms
        self.pps = 1000 // ptime_ms  # packets a second
        per_packet = 16 * ptime_ms  # 16 kHz samples
        turns = [(SPEAKERS[i % 2], pcm, span) for i, (pcm, span) in enumerate(zip(clips, spans, strict=True))]
        self.cues: dict[str, list[tuple[int, float, float]]] = {s: [] for s in SPEAKERS}
        tracks: dict[str, list[bytes]] = {s: [] for s in SPEAKERS}
        self.levels: dict[str, list[int]] = {s: [] for s in SPEAKERS}  # -dBov per packet
        for who, pcm, (w0, w1) in turns:
            n = len(pcm) // (2 * per_packet) + int(GAP_S * self.pps)
            for s in SPEAKERS:
                if s == who:
                    self.cues[s].append((len(tracks[s]), w0, w1))  # packet index, word span
                    audio = pcm + noise(GAP_S)
                else:
                    audio = noise(n / self.pps, seed=len(tracks[s]))
                tracks[s] += opus_packets(audio, ptime_ms)[:n]
                self.levels[s] += levels_dbov(audio, per_packet)[:n]
        self.tracks = tracks
        self.quiet = opus_packets(noise(2.0, seed=9), ptime_ms)
        self.quiet_levels = levels_dbov(noise(2.0, seed=9), per_packet)
        self.model_first: list[float] = []  # see model_shares()
        self.model_final: list[float] = []

    def in_packets_of(self, ptime_ms: int) -> Speech:
        """The same turns in packets of another duration."""
        if ptime_ms == self.ptime_ms:
            return self
        other = Speech(self.clips, self.spans, ptime_ms)
        other.model_first, other.model_final = self.model_first, self.model_final
        return other

    def marks(self, who: str) -> set[int]:
        """Loop positions of each clip's first and last word (packet indices)."""
        return {i + round(w * self.pps) for i, w0, w1 in self.cues.get(who, []) for w in (w0, w1)}

    def cue_pairs(self, who: str) -> list[tuple[int, int]]:
        return [(i + round(w0 * self.pps), i + round(w1 * self.pps)) for i, w0, w1 in self.cues[who]]


def load_speech(data: Path, clips: int) -> Speech:
    """The first ``clips`` Korean fixture clips with their word spans (an offline decode), and
    the model's own share of each caption latency on them (:func:`model_shares`), printed
    beside the live figures."""
    from asr.batch import read_pcm16k
    from asr.evaluate import load_manifest
    from asr.events import Final
    from asr.models import ModelRegistry, default_models_dir
    from asr.recognizer import GateConfig, Recognizer

    model = ModelRegistry(default_models_dir()).load("ko")
    chosen = load_manifest(data / "fixtures" / "asr" / "ko")[:clips]
    pcms, spans, model_first, model_final = [], [], [], []
    for c in chosen:
        pcm = read_pcm16k(c.path)
        rec = Recognizer(model, gate=GateConfig(enabled=False))
        words = [w for e in rec.accept(pcm) + rec.end() if isinstance(e, Final) for w in e.words]
        if words:
            pcms.append(pcm)
            spans.append((words[0].t0, words[-1].t1))
            first, final = model_shares(model, pcm, words[-1].t1)
            if first is not None:
                model_first.append(round(first - words[0].t0, 3))
            if final is not None:
                model_final.append(round(final, 3))
    speech = Speech(pcms, spans)
    speech.model_first, speech.model_final = model_first, model_final
    return speech


def model_shares(model: Any, pcm: bytes, last_word_end: float) -> tuple[float | None, float | None]:
    """The model's own share of both caption latencies on one clip, in one pass of a warm
    recognizer with the live settings (gate on, 0.1 s vosk chunks, 20 ms pushes): 1 s of room
    noise, the clip, then the bench's room noise as in a turn (``GAP_S``). No server, network
    or CPU contention.

    * first: the audio position (s into the clip) of its first partial;
    * final: seconds of audio pushed past the clip's last word (``last_word_end``, s into the
      clip) before the final line holding that word (vosk's endpoint or the gate's 0.6 s
      hangover).

    Each is None when it does not come before the noise ends."""
    from asr.events import Final, Partial
    from asr.recognizer import Recognizer

    rec = Recognizer(model)
    rec.warm_up()
    audio = noise(1.0, seed=5) + pcm + noise(GAP_S, seed=6)
    first: float | None = None
    for i in range(0, len(audio), 640):
        at = (i + 640) / 2 / RATE - 1.0  # audio pushed so far, s into the clip
        for e in rec.accept(audio[i:i + 640]):
            if first is None and isinstance(e, Partial):
                first = at
            # word times are on the recognizer's clock, which starts with the 1 s of noise
            if isinstance(e, Final) and e.words and e.words[-1].t1 >= 1.0 + last_word_end - 0.5:
                return first, at - last_word_end
    return first, None
