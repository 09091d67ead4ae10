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

Timeline seconds: see ``review_timeline.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import re
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from media.clips import MAX_CLIP_S, NothingToCut, Source, cut

from ..domain.hearing import Actor, HearingState
from ..domain.presence import Presence
from ..domain.review import ClipExported, RecordingViewed
from ..domain.roles import STAFF, Role
from . import review_timeline
from .api import _body, _court, _errors
from .api_vision import _checked_id, _reader, _runtime
from .court import Court
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


def _from_grant(
    hearing_id: str, grant: str, state: HearingState, request: Request | None = None
) -> Actor:
    parts = grant.split(".") if grant.isascii() and len(grant) <= 300 else []
    refused = ApiError(401, "unauthenticated", "the grant is not valid", reason="bad review grant")
    if len(parts) != 4 or not parts[2].isascii() or not parts[2].isdigit() or len(parts[2]) > 12:
        raise refused
    actor_id, role, expires, sig = parts
    if not hmac.compare_digest(sig, _sign(hearing_id, actor_id, role, int(expires))):
        raise refused
    if request is not None:  # authentic: its refusals are logged under its viewer
        request.state.subject = Subject(hearing_id, actor_id)
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
        return _from_grant(runtime.hearing_id, grant, runtime.state, request)
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


async def timeline(request: Request) -> JSONResponse:
    hearing_id = request.path_params["hearing_id"]
    actor = await _reader(request, hearing_id)
    court = _court(request)
    runtime = await _runtime(court, hearing_id)
    hid, state = runtime.hearing_id, runtime.state
    await _log_view(runtime, actor, "timeline", "")
    entries = await asyncio.to_thread(court.log.read, hid, 0)
    grant = grant_for(hid, actor)
    body = review_timeline.build(state, entries, grant)
    return JSONResponse({**body, "grant": grant, "grant_expires_in": GRANT_S})


# --- media ----------------------------------------------------------------------------------


# Per hearing: the log head and the file names its log vouches for (segments and clips), so
# the many range requests of one viewing do not each read the whole log.
_vouched: dict[str, tuple[int, frozenset[str]]] = {}


async def _vouched_for(court: Court, runtime: HearingRuntime) -> frozenset[str]:
    head = runtime.head
    cached = _vouched.get(runtime.hearing_id)
    if cached is not None and cached[0] == head:
        return cached[1]
    entries = await asyncio.to_thread(court.log.read, runtime.hearing_id, 0)
    names = frozenset(
        e.payload["file"] if e.type == "recording_finished" else e.payload["sha256"] + ".webm"
        for e in entries
        if e.type in ("recording_finished", "evidence_clip_kept", "clip_exported")
    )
    _vouched[runtime.hearing_id] = (head, names)
    return names


async def media(request: Request) -> Response:
    court = _court(request)
    runtime = await _runtime(court, request.path_params["hearing_id"])
    actor = await _viewer(request, runtime)
    name = request.path_params["file"]
    # Only files the log vouches for, by their bare name inside this hearing's folder.
    if _RECORDING.match(name):
        folder, what = court.settings.data_dir / "recordings" / runtime.hearing_id, "recording"
        kind = "video/webm" if "-video-" in name else "audio/webm"
    elif _CLIP.match(name):
        folder, what, kind = clips_dir(court, runtime.hearing_id), "clip", "video/webm"
    else:
        raise ApiError(404, "not_found", "no such recording")
    if name not in await _vouched_for(court, runtime):
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
    clocks = review_timeline.Clocks(entries)
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
            "url": review_timeline.media_url(runtime.hearing_id, clip.path.name, grant),
        },
        status_code=201,
    )


routes: list[BaseRoute] = [
    Route("/api/v1/hearings/{hearing_id}/review", _errors(timeline), methods=["GET"]),
    Route("/api/v1/hearings/{hearing_id}/review/media/{file}", _errors(media), methods=["GET"]),
    Route("/api/v1/hearings/{hearing_id}/clips", _errors(export_clip), methods=["POST"]),
]
