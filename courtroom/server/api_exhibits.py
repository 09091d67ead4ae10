"""REST routes for exhibits: upload (a party or lawyer), list, the file, and its pages.

An upload is checked by content (``exhibit_files.inspect``) before the court decides
``submit_exhibit``; a refused upload is logged as a refused ``submit_exhibit`` like any
refused command. Reading is checked against the hearing's state on every request, with the
same rule as the websocket (``domain/exhibits.visible_exhibits``): a witness in the waiting
room gets a 403 (logged) for any exhibit, and a called-in witness only the one on screen.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..domain import commands as c
from ..domain.errors import Refusal
from ..domain.exhibits import (
    MAX_EXHIBIT_BYTES,
    MAX_FILENAME,
    Exhibit,
    exhibit_id_for,
    exhibit_json,
    may_fetch,
)
from ..domain.exhibits import presenting_view as _view
from ..domain.hearing import Actor
from ..domain.roles import Permission, Role
from ..record.pdf import missing_glyphs, record_font
from .api import _actor, _court, _errors
from .court import Court
from .exhibit_files import ExhibitRefused, ExhibitStore, inspect
from .gate import ApiError, caller
from .runtime import HearingRuntime

_NO_SNIFF = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}


def exhibit_store(court: Court) -> ExhibitStore:
    return ExhibitStore(court.settings.data_dir / "exhibits")


def _filename(request: Request) -> str:
    """The ``name`` query: printable text, no controls or direction overrides, NFC."""
    raw = request.query_params.get("name", "")
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise ApiError(400, "malformed", "name (the exhibit's file name) is required")
    if len(name) > MAX_FILENAME:
        raise ApiError(400, "malformed", f"a name has at most {MAX_FILENAME} characters")
    # U+FFFD: the query was not valid UTF-8 (a lone surrogate's bytes decode to it)
    bad = [ch for ch in name if ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Cf", "Cs")]
    if bad:
        raise ApiError(400, "malformed", "the name has control, format or invalid characters")
    # The sealed record prints the name: a character its font cannot draw would stop the seal.
    undrawable = missing_glyphs([name], record_font().cmap)
    if undrawable:
        shown = " ".join(f"U+{ord(ch):04X}" for ch in undrawable[:5])
        raise ApiError(400, "malformed", f"the record cannot print these characters: {shown}")
    return name


async def _read_body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    too_big = f"an exhibit is at most {MAX_EXHIBIT_BYTES} bytes"
    if length is not None and length.isdigit() and int(length) > MAX_EXHIBIT_BYTES:
        raise ExhibitRefused(413, "too_large", too_big)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_EXHIBIT_BYTES:
            raise ExhibitRefused(413, "too_large", too_big)
        chunks.append(chunk)
    return b"".join(chunks)


async def _refused(runtime: HearingRuntime, actor: Actor, exc: ExhibitRefused) -> JSONResponse:
    """Log a refused upload as a refused ``submit_exhibit`` (sampled like any refusal)."""

    async def check(*_: Any) -> tuple[str, str]:
        return Refusal.INVALID.value, f"upload refused ({exc.status}): {exc.message}"[:300]

    await runtime.submit(c.SubmitExhibit("", "", 0, 0, "", ""), actor, check)
    return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)


async def upload(request: Request) -> Response:
    """A party or lawyer submits an exhibit (raw body; ``side`` for a lawyer)."""
    hearing_id = request.path_params["hearing_id"]
    actor = await _actor(request, hearing_id, Permission.SUBMIT_EXHIBIT)
    court = _court(request)
    runtime = await court.runtime(hearing_id)
    side = request.query_params.get("side", "")
    name = _filename(request)
    try:
        data = await _read_body(request)
        media_type, pages = await inspect(data)
    except ExhibitRefused as exc:
        return await _refused(runtime, actor, exc)
    sha = exhibit_store(court).save(runtime.hearing_id, data, media_type)
    command = c.SubmitExhibit(sha, media_type, pages, len(data), name, side)
    outcome = await court.command(hearing_id, command, actor)
    submitted = runtime.state.presenting.exhibits[exhibit_id_for(sha)]  # decided and folded
    body = exhibit_json(submitted)
    return JSONResponse({**body, "seq": outcome.entries[-1].seq}, status_code=201)


async def _reader(request: Request) -> tuple[Actor, HearingRuntime]:
    hearing_id = request.path_params["hearing_id"]
    actor = await caller(request, hearing_id)
    return actor, await _court(request).runtime(hearing_id)


async def list_exhibits(request: Request) -> JSONResponse:
    """What the caller may know of: the registry and the bench all, a witness nearly nothing."""
    actor, runtime = await _reader(request)
    everything = actor.role is Role.REGISTRY
    return JSONResponse(_view(runtime.state, actor.id, everything=everything))


def _readable(request: Request, actor: Actor, runtime: HearingRuntime) -> Exhibit:
    exhibit_id = request.path_params["exhibit_id"]
    item = runtime.state.presenting.exhibits.get(exhibit_id)
    if actor.role is Role.REGISTRY:
        if item is None:
            raise ApiError(404, "not_found", "no such exhibit")
        return item
    if item is None or not may_fetch(runtime.state, actor.id, exhibit_id):
        # the same answer whether it exists or not: a waiting witness learns nothing
        raise ApiError(
            403,
            "forbidden",
            "you may not see this exhibit now",
            reason="exhibit not visible to this participant now",
        )
    return item


async def exhibit_file(request: Request) -> Response:
    actor, runtime = await _reader(request)
    item = _readable(request, actor, runtime)
    store = exhibit_store(_court(request))
    path = store.file(runtime.hearing_id, item.sha256, item.media_type)
    if not path.is_file():
        raise ApiError(404, "not_found", "the exhibit file is missing")
    return FileResponse(
        path,
        media_type=item.media_type,
        headers={**_NO_SNIFF, "Content-Security-Policy": "sandbox"},
        content_disposition_type="attachment",
        filename=f"{item.exhibit_id}{path.suffix}",
    )


async def exhibit_page(request: Request) -> Response:
    actor, runtime = await _reader(request)
    item = _readable(request, actor, runtime)
    raw = request.path_params["page"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 4:
        raise ApiError(400, "malformed", "page must be a page number")
    page = int(raw)
    if not 1 <= page <= item.pages:
        raise ApiError(404, "not_found", f"{item.label} has pages 1 to {item.pages}")
    try:
        path = await exhibit_store(_court(request)).page(
            runtime.hearing_id, item.sha256, item.media_type, page
        )
    except ExhibitRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return FileResponse(path, media_type="image/png", headers=_NO_SNIFF)


routes: list[BaseRoute] = [
    Route("/api/v1/hearings/{hearing_id}/exhibits", _errors(upload), methods=["POST"]),
    Route("/api/v1/hearings/{hearing_id}/exhibits", _errors(list_exhibits), methods=["GET"]),
    Route(
        "/api/v1/hearings/{hearing_id}/exhibits/{exhibit_id}",
        _errors(exhibit_file),
        methods=["GET"],
    ),
    Route(
        "/api/v1/hearings/{hearing_id}/exhibits/{exhibit_id}/pages/{page}",
        _errors(exhibit_page),
        methods=["GET"],
    ),
]
