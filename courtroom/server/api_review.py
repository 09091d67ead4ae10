"""REST routes of the review player: a hearing's recording on one timeline, its media served
with range requests, and clips exported by remux.

Who: the inspector key, or whoever may read the hearing's log (registry, judge, clerk), as
for the evidence routes (``api_vision._reader``). A ``<video>`` element cannot send an
``Authorization`` header, so the timeline hands out a *grant*: an HMAC over (hearing, viewer,
expiry) with a key of this process, valid for ``GRANT_S``, passed as ``?grant=``. Each media
request checks it again (and that a participant viewer is still on the bench's side).

Every view is logged (``recording_viewed``): each opening of the timeline, and each file a
viewer fetches, once per ``VIEW_WINDOW_S`` per viewer and file (a video element sends many
range requests for one viewing).

Timeline seconds are the recording clock of the hearing's first media room
(``recording_clock_started``); a later room (a restart, another node) has its own clock,
shifted here by the difference of the two origins. Wall-clock events (phase changes,
call-ins, exhibits) are placed by their log time against that origin.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import re
import secrets
import time
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from media.clips import MAX_CLIP_S, NothingToCut, Source, cut

from ..domain.hearing import Actor, HearingState
from ..domain.presence import Presence
from ..domain.review import ClipExported, RecordingViewed
from ..domain.roles import STAFF, Role
from ..store.log import LogEntry
from .api import _body, _court, _errors
from .api_vision import INSPECTOR, _checked_id, _flag_json, _reader, _runtime
from .evidence_clips import clips_dir
from .gate import ApiError, Subject
from .runtime import HearingRuntime

GRANT_S = 900
VIEW_WINDOW_S = 300.0
_KEY = secrets.token_bytes(32)  # grants die with the process, as the files' node would
_RECORDING = re.compile(r"^[A-Za-z0-9_-]{1,64}-(audio|video)-\d{5}-\d{1,13}\.webm$")
_CLIP = re.compile(r"^([0-9a-f]{64})\.webm$")
_viewed: dict[tuple[str, str, str], float] = {}


# --- grants ---------------------------------------------------------------------------------


def _sign(hearing_id: str, actor: str, role: str, expires: int) -> str:
    msg = f"{hearing_id}|{actor}|{role}|{expires}".encode()
    return hmac.new(_KEY, msg, hashlib.sha256).hexdigest()[:40]


def grant_for(hearing_id: str, actor: Actor, now: float | None = None) -> str:
    expires = int((now or time.time()) + GRANT_S)
    sig = _sign(hearing_id, actor.id, actor.role.value, expires)
    return f"{actor.id}.{actor.role.value}.{expires}.{sig}"


def _from_grant(hearing_id: str, grant: str, state: HearingState) -> Actor:
    parts = grant.split(".")
    refused = ApiError(401, "unauthenticated", "the grant is not valid", reason="bad review grant")
    if len(parts) != 4 or not parts[2].isascii() or not parts[2].isdigit() or len(parts[2]) > 12:
        raise refused
    actor_id, role, expires, sig = parts
    if not hmac.compare_digest(sig, _sign(hearing_id, actor_id, role, int(expires))):
        raise refused
    if int(expires) < time.time():
        raise ApiError(401, "unauthenticated", "the grant has expired", reason="expired grant")
    try:
        actor = Actor(actor_id, Role(role))
    except ValueError:
        raise refused from None
    me = state.participant(actor_id)
    if actor.role in STAFF and (
        me is None or me.presence in (Presence.DISMISSED, Presence.REMOVED)
    ):
        raise ApiError(403, "forbidden", "no longer on this hearing's bench")
    return actor


async def _viewer(request: Request, runtime: HearingRuntime) -> Actor:
    grant = request.query_params.get("grant", "")
    if grant and "authorization" not in request.headers:
        request.state.subject = Subject(runtime.hearing_id)  # refusals go to its log
        return _from_grant(runtime.hearing_id, grant, runtime.state)
    return await _reader(request, runtime.hearing_id)


async def _log_view(runtime: HearingRuntime, actor: Actor, what: str, item: str) -> None:
    """One ``recording_viewed`` per viewer and file per window; every timeline opening."""
    key = (runtime.hearing_id, actor.id, item)
    now = time.monotonic()
    if what != "timeline" and now - _viewed.get(key, -math.inf) < VIEW_WINDOW_S:
        return
    if len(_viewed) > 10_000:
        _viewed.clear()  # bounded memory: at worst a view is logged once more
    _viewed[key] = now
    await runtime.record([RecordingViewed(what, item)], actor=actor.id)


# --- the timeline ---------------------------------------------------------------------------


class _Clocks:
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


def _media_url(hearing_id: str, name: str, grant: str) -> str:
    return f"/api/v1/hearings/{hearing_id}/review/media/{name}?grant={grant}"


def _tracks(
    state: HearingState, entries: list[LogEntry], clocks: _Clocks, grant: str
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
                "url": _media_url(state.hearing_id, p["file"], grant),
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


def _lines(entries: list[LogEntry], clocks: _Clocks) -> list[dict[str, Any]]:
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
    hearing_id: str, entries: list[LogEntry], clocks: _Clocks, grant: str
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
                    "url": _media_url(hearing_id, p["sha256"] + ".webm", grant),
                }
            )
    return out


def _flags(
    state: HearingState, entries: list[LogEntry], clocks: _Clocks, clips: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    raised = {e.payload["flag_id"]: e.seq for e in entries if e.type == "flag_raised"}
    by_flag = {c["flag_id"]: c for c in clips if c["flag_id"]}
    out = []
    for f in state.flags.values():
        row = _flag_json(state, f)
        shift = clocks.shift(raised.get(f.flag_id, 0))
        out.append({**row, "at": round(f.t0 + shift, 3), "clip": by_flag.get(f.flag_id)})
    return sorted(out, key=lambda x: x["at"])


def _marks(
    state: HearingState,
    entries: list[LogEntry],
    clocks: _Clocks,
    lines: list[dict[str, Any]],
    flags: list[dict[str, Any]],
    clips: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    def mark(
        type_: str, t: float, t1: float | None, who: str | None, label: str, ref: str
    ) -> dict[str, Any]:
        return {
            "type": type_,
            "t": t,
            "t1": t1,
            "participant": who,
            "label": label[:200],
            "ref": ref,
        }

    marks = [
        mark("transcript", x["t0"], x["t1"], x["speaker"], x["original"], x["line_id"])
        for x in lines
    ]
    marks += [
        mark("correction", x["t0"], x["t1"], x["speaker"], x["text"], x["line_id"])
        for x in lines
        if x["earlier"]
    ]
    marks += [
        mark(
            "flag",
            f["at"],
            None if f["t1"] is None else f["at"] + f["t1"] - f["t0"],
            f["participant"],
            f["kind"],
            f["flag_id"],
        )
        for f in flags
    ]
    marks += [mark("clip", c["t0"], c["t1"], c["participant"], "clip", c["sha256"]) for c in clips]
    for e in entries:
        p = e.payload
        if e.type == "phase_changed":
            marks.append(mark("phase", clocks.wall(e.at), None, None, str(p["phase"]), e.type))
        elif e.type == "presence_changed" and p.get("reason") == "called_in":
            marks.append(
                mark("call_in", clocks.wall(e.at), None, p["participant"], "called in", e.type)
            )
        elif "exhibit" in e.type:
            marks.append(
                mark("exhibit", clocks.wall(e.at), None, p.get("participant"), e.type, e.type)
            )
        elif e.type == "media_gap":
            shift = clocks.shift(e.seq)
            marks.append(
                mark(
                    "gap",
                    round(p["t0"] + shift, 3),
                    round(p["t1"] + shift, 3),
                    p["participant"],
                    str(p["kind"]),
                    e.type,
                )
            )
    return sorted(marks, key=lambda m: (m["t"], m["type"]))


async def timeline(request: Request) -> JSONResponse:
    hearing_id = request.path_params["hearing_id"]
    actor = await _reader(request, hearing_id)
    court = _court(request)
    runtime = await _runtime(court, hearing_id)
    hid, state = runtime.hearing_id, runtime.state
    await _log_view(runtime, actor, "timeline", "")
    entries = await asyncio.to_thread(court.log.read, hid, 0)
    clocks = _Clocks(entries)
    grant = grant_for(hid, actor)
    tracks = _tracks(state, entries, clocks, grant)
    lines = _lines(entries, clocks)
    clips = _clips(hid, entries, clocks, grant)
    flags = _flags(state, entries, clocks, clips)
    ends = [s["end"] for t in tracks for s in t["segments"]] + [x["t1"] for x in lines]
    return JSONResponse(
        {
            "hearing_id": hid,
            "case_number": state.case_number,
            "title": state.title,
            "phase": state.phase.value,
            "origin": clocks.origin.isoformat() if clocks.origin else None,
            "duration": max(ends, default=0.0),
            "grant": grant,
            "grant_expires_in": GRANT_S,
            "tracks": tracks,
            "lines": lines,
            "flags": flags,
            "clips": clips,
            "marks": _marks(state, entries, clocks, lines, flags, clips),
        }
    )


# --- media ----------------------------------------------------------------------------------


async def media(request: Request) -> Response:
    court = _court(request)
    runtime = await _runtime(court, request.path_params["hearing_id"])
    actor = await _viewer(request, runtime)
    name = request.path_params["file"]
    entries = await asyncio.to_thread(court.log.read, runtime.hearing_id, 0)
    if _RECORDING.match(name):
        listed = any(e.type == "recording_finished" and e.payload["file"] == name for e in entries)
        folder, what = court.settings.data_dir / "recordings" / runtime.hearing_id, "recording"
        kind = "video/webm" if "-video-" in name else "audio/webm"
    elif m := _CLIP.match(name):
        listed = any(
            e.type in ("evidence_clip_kept", "clip_exported") and e.payload["sha256"] == m[1]
            for e in entries
        )
        folder, what, kind = clips_dir(court, runtime.hearing_id), "clip", "video/webm"
    else:
        listed = False
    # Only files the log vouches for, by their bare name inside this hearing's folder.
    if not listed:
        raise ApiError(404, "not_found", "no such recording")
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or not path.is_file():
        raise ApiError(404, "not_found", "the file is missing")
    await _log_view(runtime, actor, what, name)
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "private, no-store"})


# --- export ---------------------------------------------------------------------------------


def _seconds(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(400, "malformed", f"{name} must be a number of seconds")
    return float(value)


async def export_clip(request: Request) -> JSONResponse:
    hearing_id = request.path_params["hearing_id"]
    actor = await _reader(request, hearing_id)
    body = await _body(request, "participant")
    t0, t1 = _seconds(body, "t0"), _seconds(body, "t1")
    if not 0 < t1 - t0 <= MAX_CLIP_S:
        raise ApiError(400, "malformed", f"t1 must be after t0, by at most {MAX_CLIP_S:g} s")
    court = _court(request)
    runtime = await _runtime(court, hearing_id)
    pid = _checked_id(body["participant"], "participant")
    if runtime.state.participant(pid) is None:
        raise ApiError(404, "not_found", "no such participant in this hearing")
    entries = await asyncio.to_thread(court.log.read, runtime.hearing_id, 0)
    clocks = _Clocks(entries)
    folder = court.settings.data_dir / "recordings" / runtime.hearing_id
    sources = [
        Source(
            folder / e.payload["file"],
            e.payload["kind"],
            e.payload["start"] + clocks.shift(e.seq),
            e.payload["end"] + clocks.shift(e.seq),
        )
        for e in entries
        if e.type == "recording_finished" and e.payload["participant"] == pid
    ]
    try:
        clip = await asyncio.to_thread(cut, sources, t0, t1, clips_dir(court, runtime.hearing_id))
    except NothingToCut as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    event = ClipExported(pid, clip.sha256, clip.bytes, clip.t0, clip.t1, clip.sources)
    await runtime.record([event], actor=actor.id)
    grant = grant_for(runtime.hearing_id, actor)
    return JSONResponse(
        {
            "sha256": clip.sha256,
            "participant": pid,
            "t0": clip.t0,
            "t1": clip.t1,
            "flag_id": None,
            "url": _media_url(runtime.hearing_id, clip.path.name, grant),
        },
        status_code=201,
    )


routes: list[BaseRoute] = [
    Route("/api/v1/hearings/{hearing_id}/review", _errors(timeline), methods=["GET"]),
    Route("/api/v1/hearings/{hearing_id}/review/media/{file}", _errors(media), methods=["GET"]),
    Route("/api/v1/hearings/{hearing_id}/clips", _errors(export_clip), methods=["POST"]),
]

__all__ = ["INSPECTOR", "grant_for", "routes"]
