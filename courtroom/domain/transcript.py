"""The transcript: lines from speech recognition, corrections, and exports.

The current transcript is the fold of ``transcript_line`` and ``transcript_correction``
events; every earlier version of a corrected line is kept. A ``media_gap`` on a
participant's audio is an ``AudioGap``: every export marks it as a line of its own, in time
order among the lines, so a reader sees where nothing could be heard. Times are seconds on
the hearing's recording clock, so exports line up with the recordings.
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


@dataclass(frozen=True)
class AudioGap:
    """No audio from ``speaker`` from ``t0`` to ``t1`` (a ``media_gap`` on their audio track)."""

    speaker: str  # participant id
    t0: float
    t1: float


def gap_text(gap: AudioGap, names: Mapping[str, str]) -> str:
    """The marked gap line, e.g. ``[no audio from Li Wei (witness) 12.0–15.0 s]``."""
    who = " ".join(names.get(gap.speaker, gap.speaker).split())
    return f"[no audio from {who} {gap.t0:.1f}–{gap.t1:.1f} s]"


def in_time_order(
    lines: Sequence[TranscriptLine], gaps: Iterable[AudioGap]
) -> list[TranscriptLine | AudioGap]:
    """The lines in their own order, each gap placed before the first line that starts after it.

    A line and a gap that start at the same moment: the line first.
    """
    pending = sorted(gaps, key=lambda g: (g.t0, g.t1, g.speaker))
    out: list[TranscriptLine | AudioGap] = []
    i = 0
    for line in lines:
        while i < len(pending) and pending[i].t0 < line.t0:
            out.append(pending[i])
            i += 1
        out.append(line)
    out += pending[i:]
    return out


def _stamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cue_text(text: str) -> str:
    # A blank line ends a cue in both formats; "-->" would start a new timing line.
    return " ".join(text.split()).replace("-->", "->")


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(
    lines: Sequence[TranscriptLine], names: Mapping[str, str], gaps: Iterable[AudioGap] = ()
) -> str:
    out = ["WEBVTT", ""]
    n_gap = 0
    for item in in_time_order(lines, gaps):
        if isinstance(item, AudioGap):
            n_gap += 1
            out += [
                f"gap-{n_gap}",
                f"{_stamp(item.t0, '.')} --> {_stamp(item.t1, '.')}",
                _vtt_escape(_cue_text(gap_text(item, names))),
                "",
            ]
            continue
        line = item
        who = names.get(line.speaker, line.speaker).replace(">", "")
        out += [
            line.line_id,
            f"{_stamp(line.t0, '.')} --> {_stamp(line.t1, '.')}",
            f"<v {who}>{_cue_text(line.text)}",
            "",
        ]
    return "\n".join(out)


def to_srt(
    lines: Sequence[TranscriptLine], names: Mapping[str, str], gaps: Iterable[AudioGap] = ()
) -> str:
    out: list[str] = []
    for i, item in enumerate(in_time_order(lines, gaps), 1):
        if isinstance(item, AudioGap):
            text = _cue_text(gap_text(item, names))
        else:
            text = f"{names.get(item.speaker, item.speaker)}: {_cue_text(item.text)}"
        out += [str(i), f"{_stamp(item.t0, ',')} --> {_stamp(item.t1, ',')}", text, ""]
    return "\n".join(out)


def to_plain_text(
    lines: Sequence[TranscriptLine],
    names: Mapping[str, str],
    heading: Iterable[str] = (),
    gaps: Iterable[AudioGap] = (),
) -> str:
    """The court transcript: consecutive lines of one speaker grouped under their name.

    A gap is a paragraph of its own; the speaker's name is given again after it.
    """
    out = list(heading)
    if out:
        out.append("")
    speaker: str | None = None
    started = False
    for item in in_time_order(lines, gaps):
        if isinstance(item, AudioGap):
            if started:
                out.append("")
            started, speaker = True, None
            out.append(f"[{_stamp(item.t0, '.')[:8]}]  {gap_text(item, names)}")
            continue
        line = item
        if line.speaker != speaker:
            if started:
                out.append("")
            started, speaker = True, line.speaker
            out.append(f"{names.get(speaker, speaker)}  [{_stamp(line.t0, '.')[:8]}]")
        mark = " (corrected)" if line.corrected else ""
        out.append(f"    {line.text}{mark}")
    return "\n".join(out) + "\n"
