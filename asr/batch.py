"""Batch transcription of a stored recording (`courtroom transcribe <recording>`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av

from asr.events import Final
from asr.models import ModelRegistry
from asr.recognizer import DEFAULT_GATE, GateConfig, Recognizer
from asr.resample import BYTES_PER_SAMPLE, RATE, Resampler16k

__all__ = ["ProgressFn", "iter_pcm16k", "read_pcm16k", "transcribe_file"]

# (seconds decoded so far, total seconds or None when the container does not say)
ProgressFn = Callable[[float, float | None], None]


def _duration(container: av.container.InputContainer, stream: av.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None  # e.g. a live-written WebM without cues


def iter_pcm16k(path: Path, *, stream_index: int = 0) -> Iterator[tuple[bytes, float | None]]:
    """Yield (16 kHz mono s16 chunk, total duration) from the `stream_index`-th audio stream
    of any file PyAV can open (WAV, WebM/Opus, Ogg, MP4, ...)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[stream_index]
        total = _duration(container, stream)
        resampler = Resampler16k()
        for frame in container.decode(stream):
            pcm = resampler.convert(frame)
            if pcm:
                yield pcm, total
        tail = resampler.flush()
        if tail:
            yield tail, total


def read_pcm16k(path: Path, *, stream_index: int = 0) -> bytes:
    return b"".join(chunk for chunk, _ in iter_pcm16k(path, stream_index=stream_index))


def transcribe_file(
    path: Path,
    model: ModelRegistry | Any,
    language: str | None = None,
    *,
    progress: ProgressFn | None = None,
    show_progress: bool = False,
    origin: float = 0.0,
    gate: GateConfig = DEFAULT_GATE,
    stream_index: int = 0,
) -> list[Final]:
    """Finals for one recording; times on the recording's clock (+ origin).

    `model` is a loaded vosk model, or a ModelRegistry together with `language` (raises
    ModelMissing). `show_progress` draws a tqdm bar on stderr (seconds of audio).
    """
    if isinstance(model, ModelRegistry):
        if language is None:
            raise ValueError("language is required with a ModelRegistry")
        model = model.load(language)
    rec = Recognizer(model, origin=origin, gate=gate, chunk_s=0.5)
    finals: list[Final] = []
    bar: Any = None
    done = 0.0
    try:
        for pcm, total in iter_pcm16k(path, stream_index=stream_index):
            if show_progress and bar is None:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="s", unit_scale=True, desc=Path(path).name)
            finals += [e for e in rec.accept(pcm) if isinstance(e, Final)]
            step = len(pcm) / BYTES_PER_SAMPLE / RATE
            done += step
            if bar is not None:
                bar.update(step)
            if progress is not None:
                progress(done, total)
        finals += [e for e in rec.end() if isinstance(e, Final)]
    finally:
        if bar is not None:
            bar.close()
    return finals
