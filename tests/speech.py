"""Korean speech made at test time with espeak-ng (Debian package ``espeak-ng``).

The Korean clips the project measures accuracy on may not be redistributed, so the tests speak
their own: espeak-ng is deterministic (same text, same samples), fast (milliseconds a sentence)
and speaks Korean. Small vosk models recognise synthetic speech poorly, so tests built on these
clips assert properties of the pipeline (live decoding equals offline decoding of the same audio,
attribution, timing, non-empty text), never accuracy: that is ``scripts/bench_asr.py``'s job.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

RATE = 16000

# Courtroom sentences, 2-6 s each; "bench" has a sentence break (two utterances).
KOREAN = {
    "greeting": "안녕하세요 저는 원고입니다 오늘 재판에 출석했습니다",
    "home": "저는 그날 집에 있었습니다",
    "debt": "피고는 돈을 갚지 않았습니다",
    "answer": "판사님 질문에 대답하겠습니다",
    "contract": "계약서에 서명한 날은 삼월 일일입니다",
    "bench": "네 맞습니다. 그 돈은 제가 빌려준 돈입니다",
}


@dataclass(frozen=True)
class Speech:
    path: Path  # 16 kHz mono s16 WAV
    text: str  # what espeak-ng was asked to say (not a reference transcript of the audio)
    duration_s: float


def espeak_bin() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise RuntimeError("espeak-ng is not installed (scripts/install test installs it)")
    return found


def say(text: str, out: Path, voice: str = "ko") -> Speech:
    """``text`` spoken by espeak-ng, resampled to 16 kHz mono s16, written to ``out``."""
    raw = out.with_suffix(".espeak.wav")
    subprocess.run([espeak_bin(), "-v", voice, "-w", str(raw), text], check=True, timeout=60)
    pcm = _resample16k(raw)
    raw.unlink()
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return Speech(out, text, len(pcm) / 2 / RATE)


def _resample16k(path: Path) -> bytes:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    chunks: list[np.ndarray] = []
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks).astype("<i2").tobytes()


def korean_speech(directory: Path) -> dict[str, Speech]:
    directory.mkdir(parents=True, exist_ok=True)
    return {name: say(text, directory / f"{name}.wav") for name, text in KOREAN.items()}
