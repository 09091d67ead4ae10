"""The transcript: lines from speech recognition, corrections, and exports.

The current transcript is the fold of ``transcript_line`` and ``transcript_correction``
events; every earlier version of a corrected line is kept. Times are seconds on the
hearing's recording clock, so exports line up with the recordings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MAX_LINE_CHARS = 4000


@dataclass(frozen=True)
class Word:
    text: str
    t0: float
    t1: float
    conf: float


@dataclass(frozen=True)
class TranscriptLine:
    line_id: str
    speaker: str  # participant id
    t0: float
    t1: float
    text: str  # as corrected
    original: str  # as recognised
    model: str
    earlier: tuple[str, ...] = ()  # every text this line had before the current one

    @property
    def corrected(self) -> bool:
        return bool(self.earlier)


def _stamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cue_text(text: str) -> str:
    # A blank line ends a cue in both formats; "-->" would start a new timing line.
    return " ".join(text.split()).replace("-->", "->")


def to_webvtt(lines: Sequence[TranscriptLine], names: Mapping[str, str]) -> str:
    out = ["WEBVTT", ""]
    for line in lines:
        who = names.get(line.speaker, line.speaker).replace(">", "")
        out += [
            line.line_id,
            f"{_stamp(line.t0, '.')} --> {_stamp(line.t1, '.')}",
            f"<v {who}>{_cue_text(line.text)}",
            "",
        ]
    return "\n".join(out)


def to_srt(lines: Sequence[TranscriptLine], names: Mapping[str, str]) -> str:
    out: list[str] = []
    for i, line in enumerate(lines, 1):
        who = names.get(line.speaker, line.speaker)
        out += [
            str(i),
            f"{_stamp(line.t0, ',')} --> {_stamp(line.t1, ',')}",
            f"{who}: {_cue_text(line.text)}",
            "",
        ]
    return "\n".join(out)


def to_plain_text(
    lines: Sequence[TranscriptLine], names: Mapping[str, str], heading: Iterable[str] = ()
) -> str:
    """The court transcript: consecutive lines of one speaker grouped under their name."""
    out = list(heading)
    if out:
        out.append("")
    speaker: str | None = None
    for line in lines:
        if line.speaker != speaker:
            if speaker is not None:
                out.append("")
            speaker = line.speaker
            out.append(f"{names.get(speaker, speaker)}  [{_stamp(line.t0, '.')[:8]}]")
        mark = " (corrected)" if line.corrected else ""
        out.append(f"    {line.text}{mark}")
    return "\n".join(out) + "\n"
