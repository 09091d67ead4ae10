"""Typed ASR events. Times are seconds on the stream's clock (origin + samples / 16 kHz)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    t0: float
    t1: float
    conf: float


@dataclass(frozen=True, slots=True)
class Partial:
    """Unstable hypothesis for the utterance in progress; `at` = end of the audio it covers."""

    text: str
    at: float


@dataclass(frozen=True, slots=True)
class Final:
    """A finished utterance. Never empty."""

    text: str
    t0: float
    t1: float
    words: tuple[Word, ...]


@dataclass(frozen=True, slots=True)
class EndOfSpeech:
    """The energy gate closed: the track went quiet. `at` = end of the last voiced audio."""

    at: float


@dataclass(frozen=True, slots=True)
class Gap:
    """Audio in [t0, t1) was not decoded because the decoder fell too far behind.

    The recording still has it; `transcribe_file` can recover the words afterwards.
    """

    t0: float
    t1: float


AsrEvent = Partial | Final | EndOfSpeech | Gap
