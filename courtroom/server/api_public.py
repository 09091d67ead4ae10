"""The public side of a broadcast hearing: no login, no case parties (rest_spec_public.py).

A hearing is public only once its judge announced or broadcast it; any other hearing is
answered like a hearing that does not exist (404), so the listing cannot be used to learn
which hearings a court holds. What is shown of a public hearing is the outsider view
(``view_for`` for someone outside the hearing): court, language, time and phase.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..broadcast.captions import published_captions
from ..broadcast.hls import PLAYLIST
from ..broadcast.office import BroadcastOffice, broadcast_dir
from ..domain.state import HearingState
from ..domain.visibility import view_for
from .api import _court, _errors
from .gate import ApiError
from .refusals import SECURITY_STREAM
from .runtime import NotOwner, UnknownHearing

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FILE = re.compile(r"^(index\.m3u8|seg-\d{5}\.ts)$")
_NUMBER = re.compile(r"^[1-9][0-9]{0,8}$")
_PAGE = "public.html"
_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}


def _office(request: Request) -> BroadcastOffice:
    office: BroadcastOffice = request.app.state.broadcasts
    return office


def _status(state: HearingState) -> str | None:
    b = state.broadcast
    if b.live:
        return b.status
    if b.number:
        return "ended"
    return "announced" if b.listed else None


def _public(state: HearingState, office: BroadcastOffice) -> dict[str, Any]:
    b = state.broadcast
    hearing: dict[str, Any] = dict(view_for(state, "")["hearing"])  # type: ignore[call-overload]
    hid = state.hearing_id
    hearing.update(
        status=_status(state),
        delay_s=office.settings.broadcast_delay_s,
        playlist=f"/public/{hid}/hls/{b.number}/{PLAYLIST}" if b.live else None,
        captions=office.settings.broadcast_captions,
        page=f"/public/{hid}",
    )
    return hearing


async def _public_state(request: Request, hearing_id: str) -> HearingState:
    if not _ID.match(hearing_id) or hearing_id == SECURITY_STREAM:
        raise ApiError(404, "not_found", "no such public hearing")
    try:
        runtime = await _court(request).runtime(hearing_id)
    except UnknownHearing:
        raise ApiError(404, "not_found", "no such public hearing") from None
    if _status(runtime.state) is None:
        raise ApiError(404, "not_found", "no such public hearing")
    return runtime.state


async def listing(request: Request) -> JSONResponse:
    court, office = _court(request), _office(request)
    on_air: list[dict[str, Any]] = []
    upcoming: list[dict[str, Any]] = []
    for hid in await asyncio.to_thread(court.log.hearing_ids):
        if hid == SECURITY_STREAM:
            continue
        runtime = court.runtimes.loaded(hid)
        if runtime is None:
            try:
                runtime = await court.runtime(hid)
            except UnknownHearing:
                continue
        status = _status(runtime.state)
        if status in ("live", "paused"):
            on_air.append(_public(runtime.state, office))
        elif status == "announced":
            upcoming.append(_public(runtime.state, office))
    upcoming.sort(key=lambda h: str(h["scheduled_for"]))
    return JSONResponse({"on_air": on_air, "upcoming": upcoming})


async def hearing(request: Request) -> JSONResponse:
    state = await _public_state(request, request.path_params["hearing_id"])
    return JSONResponse(_public(state, _office(request)))


async def captions(request: Request) -> JSONResponse:
    office = _office(request)
    hid = request.path_params["hearing_id"]
    state = await _public_state(request, hid)
    if not office.settings.broadcast_captions:
        raise ApiError(404, "captions_off", "this court does not publish captions")
    court = _court(request)
    if not court.holds(hid):
        raise NotOwner(hid)  # the studio runs where the hearing's media is
    on_air, room = office.on_air.get(hid), court.media.get(hid)
    if on_air is None or room is None or not state.broadcast.live:
        return JSONResponse({"captions": []})
    now = time.monotonic()
    origin = now - room.hub.clock.now()
    lines = published_captions(state, on_air.studio, origin, now, office.settings.broadcast_delay_s)
    return JSONResponse({"captions": lines})


async def hls_file(request: Request) -> Response:
    """The playlist and segments of the broadcast on air now (the owner node writes them)."""
    hid, number, name = (request.path_params[k] for k in ("hearing_id", "number", "file"))
    if not _NUMBER.match(number) or not _FILE.match(name):
        raise ApiError(404, "not_found", "no such file")
    state = await _public_state(request, hid)
    b = state.broadcast
    if not b.live or b.number != int(number):
        raise ApiError(404, "not_found", "this broadcast is not on air")
    court, office = _court(request), _office(request)
    if not court.holds(hid):
        raise NotOwner(hid)
    path = broadcast_dir(office.settings, hid, b.number) / name
    try:
        # Read whole (a segment is a few hundred KB): the encoder deletes old segments, and
        # a file streamed while it is deleted would be cut short.
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise ApiError(404, "not_found", "not written yet, or no longer live") from None
    cache = "no-cache" if name == PLAYLIST else "max-age=60"
    return Response(data, media_type=_TYPES[path.suffix], headers={"Cache-Control": cache})


def routes(static: Path) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        if "hearing_id" in request.path_params and not _ID.match(request.path_params["hearing_id"]):
            raise ApiError(404, "not_found", "no such public hearing")
        return FileResponse(static / _PAGE, headers={"Cache-Control": "no-cache"})

    return [
        Route("/public", _errors(page), methods=["GET"]),
        Route("/public/{hearing_id}", _errors(page), methods=["GET"]),
        Route("/public/{hearing_id}/hls/{number}/{file}", _errors(hls_file), methods=["GET"]),
        Route("/api/v1/public/hearings", _errors(listing), methods=["GET"]),
        Route("/api/v1/public/hearings/{hearing_id}", _errors(hearing), methods=["GET"]),
        Route("/api/v1/public/hearings/{hearing_id}/captions", _errors(captions), methods=["GET"]),
    ]
