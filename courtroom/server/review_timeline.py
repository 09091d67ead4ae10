"""The review player's timeline: a hearing's log folded onto one time axis (``api_review.py``).

Pure: log entries and the hearing's state in, JSON-ready dicts out. Timeline seconds are the
recording clock of the hearing's first media room (``recording_clock_started``); a later room
(a restart, another node) has its own clock, shifted here by the difference of the origins.
Wall-clock events (phase changes, call-ins, exhibits) are placed by their log time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.hearing import HearingState
from ..store.log import LogEntry
from .api_vision import _flag_json


class Clocks:
    """Timeline seconds of recording-clock times and of log times, per media room's clock."""

    def __init__(self, entries: list[LogEntry]) -> None:
        self.starts: list[tuple[int, datetime]] = [
            (e.seq, datetime.fromisoformat(e.payload["origin"]))
            for e in entries
            if e.type == "recording_clock_started"
        ]
        if not self.starts:  # an older log: estimate the origin from the first segment
            first = next((e for e in entries if e.type == "recording_finished"), None)
            if first is not None:
                origin = first.at.timestamp() - float(first.payload["end"])
                self.starts = [(0, datetime.fromtimestamp(origin, first.at.tzinfo))]
        self.origin = self.starts[0][1] if self.starts else None

    def shift(self, seq: int) -> float:
        """Seconds to add to a recording-clock time logged at ``seq``."""
        if self.origin is None:
            return 0.0
        start = self.origin
        for s, origin in self.starts:
            if s <= seq:
                start = origin
        return (start - self.origin).total_seconds()

    def wall(self, at: datetime) -> float:
        return 0.0 if self.origin is None else round((at - self.origin).total_seconds(), 3)


def media_url(hearing_id: str, name: str, grant: str) -> str:
    return f"/api/v1/hearings/{hearing_id}/review/media/{name}?grant={grant}"


def _tracks(
    state: HearingState, entries: list[LogEntry], clocks: Clocks, grant: str
) -> list[dict[str, Any]]:
    tracks: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in entries:
        if e.type != "recording_finished":
            continue
        p, shift = e.payload, clocks.shift(e.seq)
        tracks.setdefault((p["participant"], p["kind"]), []).append(
            {
                "file": p["file"],
                "start": round(p["start"] + shift, 3),
                "end": round(p["end"] + shift, 3),
                "sha256": p["sha256"],
                "url": media_url(state.hearing_id, p["file"], grant),
            }
        )
    out = []
    for (pid, kind), segments in sorted(tracks.items()):
        who = state.participant(pid)
        out.append(
            {
                "participant": pid,
                "display_name": who.display_name if who else None,
                "role": who.role.value if who else None,
                "kind": kind,
                "segments": sorted(segments, key=lambda s: s["start"]),
            }
        )
    return out


def _lines(entries: list[LogEntry], clocks: Clocks) -> list[dict[str, Any]]:
    lines: dict[str, dict[str, Any]] = {}
    for e in entries:
        p = e.payload
        if e.type == "transcript_line":
            shift = clocks.shift(e.seq)
            lines[p["line_id"]] = {
                "line_id": p["line_id"],
                "speaker": p["speaker"],
                "t0": round(p["t0"] + shift, 3),
                "t1": round(p["t1"] + shift, 3),
                "text": p["text"],
                "original": p["text"],
                "earlier": [],
            }
        elif e.type == "transcript_correction" and p["line_id"] in lines:
            line = lines[p["line_id"]]
            line["earlier"].append(line["text"])
            line["text"] = p["text"]
    return sorted(lines.values(), key=lambda x: x["t0"])


def _clips(
    hearing_id: str, entries: list[LogEntry], clocks: Clocks, grant: str
) -> list[dict[str, Any]]:
    out = []
    for e in entries:
        if e.type in ("evidence_clip_kept", "clip_exported"):
            p = e.payload
            shift = clocks.shift(e.seq) if e.type == "evidence_clip_kept" else 0.0
            out.append(
                {
                    "sha256": p["sha256"],
                    "participant": p["participant"],
                    "t0": round(p["t0"] + shift, 3),
                    "t1": round(p["t1"] + shift, 3),
                    "flag_id": p.get("flag_id"),
                    "url": media_url(hearing_id, p["sha256"] + ".webm", grant),
                }
            )
    return out


def _flags(
    state: HearingState, entries: list[LogEntry], clocks: Clocks, clips: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    raised = {e.payload["flag_id"]: e.seq for e in entries if e.type == "flag_raised"}
    by_flag = {c["flag_id"]: c for c in clips if c["flag_id"]}
    out = []
    for f in state.flags.values():
        row = _flag_json(state, f)
        shift = clocks.shift(raised.get(f.flag_id, 0))
        out.append({**row, "at": round(f.t0 + shift, 3), "clip": by_flag.get(f.flag_id)})
    return sorted(out, key=lambda x: x["at"])


def _mark(
    type_: str, t: float, t1: float | None, who: str | None, label: str, ref: str
) -> dict[str, Any]:
    return {"type": type_, "t": t, "t1": t1, "participant": who, "label": label[:200], "ref": ref}


def _marks(
    entries: list[LogEntry],
    clocks: Clocks,
    lines: list[dict[str, Any]],
    flags: list[dict[str, Any]],
    clips: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Every mark, in time order: lines (and their corrections), flags, clips, then the log's."""
    marks = [
        _mark("transcript", x["t0"], x["t1"], x["speaker"], x["original"], x["line_id"])
        for x in lines
    ]
    marks += [
        _mark("correction", x["t0"], x["t1"], x["speaker"], x["text"], x["line_id"])
        for x in lines
        if x["earlier"]
    ]
    for f in flags:
        end = None if f["t1"] is None else round(f["at"] + f["t1"] - f["t0"], 3)
        marks.append(_mark("flag", f["at"], end, f["participant"], f["kind"], f["flag_id"]))
    marks += [_mark("clip", c["t0"], c["t1"], c["participant"], "clip", c["sha256"]) for c in clips]
    marks += _log_marks(entries, clocks)
    return sorted(marks, key=lambda m: (m["t"], m["type"]))


def _log_marks(entries: list[LogEntry], clocks: Clocks) -> list[dict[str, Any]]:
    """Phase changes, call-ins and exhibits (by log time), and media gaps (recording clock)."""
    marks = []
    for e in entries:
        p = e.payload
        if e.type == "phase_changed":
            marks.append(_mark("phase", clocks.wall(e.at), None, None, str(p["phase"]), e.type))
        elif e.type == "presence_changed" and p.get("reason") == "called_in":
            marks.append(
                _mark("call_in", clocks.wall(e.at), None, p["participant"], "called in", e.type)
            )
        elif "exhibit" in e.type:  # no exhibit events yet: any that a later feature logs
            who = p.get("participant")
            marks.append(_mark("exhibit", clocks.wall(e.at), None, who, e.type, e.type))
        elif e.type == "media_gap":
            shift = clocks.shift(e.seq)
            t0, t1 = round(p["t0"] + shift, 3), round(p["t1"] + shift, 3)
            marks.append(_mark("gap", t0, t1, p["participant"], str(p["kind"]), e.type))
    return marks


def build(state: HearingState, entries: list[LogEntry], grant: str) -> dict[str, Any]:
    """The timeline of ``GET /api/v1/hearings/{h}/review`` (less the grant's fields)."""
    clocks = Clocks(entries)
    tracks = _tracks(state, entries, clocks, grant)
    lines = _lines(entries, clocks)
    clips = _clips(state.hearing_id, entries, clocks, grant)
    flags = _flags(state, entries, clocks, clips)
    ends = [s["end"] for t in tracks for s in t["segments"]] + [x["t1"] for x in lines]
    return {
        "hearing_id": state.hearing_id,
        "case_number": state.case_number,
        "title": state.title,
        "phase": state.phase.value,
        "origin": clocks.origin.isoformat() if clocks.origin else None,
        "duration": max(ends, default=0.0),
        "tracks": tracks,
        "lines": lines,
        "flags": flags,
        "clips": clips,
        "marks": _marks(entries, clocks, lines, flags, clips),
    }
