"""Fixture evaluation helpers shared by tests and scripts/bench_asr.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr.batch import read_pcm16k
from asr.models import KaldiRecognizer
from asr.resample import BYTES_PER_SAMPLE, RATE
from asr.score import ErrorCount, primary

__all__ = ["Clip", "load_manifest", "offline_cer", "offline_decode"]


@dataclass(frozen=True, slots=True)
class Clip:
    path: Path
    language: str
    duration_s: float
    reference: str


def load_manifest(directory: Path) -> list[Clip]:
    """`manifest.tsv` (header `file language duration_s reference source ...`)."""
    lines = (directory / "manifest.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    col = {name: i for i, name in enumerate(header)}
    clips = []
    for line in lines[1:]:
        if not line.strip():
            continue
        f = line.split("\t")
        clips.append(
            Clip(
                directory / f[col["file"]],
                f[col["language"]],
                float(f[col["duration_s"]]),
                f[col["reference"]],
            )
        )
    return clips


def offline_decode(model: Any, path: Path, *, chunk_s: float = 0.2) -> str:
    """The baseline: plain vosk (no gate), one fresh recognizer, the whole file."""
    pcm = read_pcm16k(path)
    rec = KaldiRecognizer(model, RATE)
    step = int(chunk_s * RATE) * BYTES_PER_SAMPLE
    texts = []
    for i in range(0, len(pcm), step):
        if rec.AcceptWaveform(pcm[i : i + step]):
            texts.append(json.loads(rec.Result()).get("text", ""))
    texts.append(json.loads(rec.FinalResult()).get("text", ""))
    return " ".join(t for t in texts if t)


def offline_cer(model: Any, path: Path, reference: str, language: str) -> ErrorCount:
    """Errors of the offline baseline against `reference` (CER; WER for en)."""
    return primary(reference, offline_decode(model, path), language)
