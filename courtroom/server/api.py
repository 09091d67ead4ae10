"""REST API: schedule hearings, invite participants, exchange join codes, read the log."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..domain.hearing import Actor
from ..domain.roles import Permission, Role, may
from ..domain.transcript import to_plain_text, to_srt, to_webvtt
from ..domain.visibility import view_for
from ..inbound import InputError, decode_json
from ..schema import required_fields
from .api_cluster import forward
from .auth import AuthError, AuthFailure
from .court import CommandRefused, Court, Invitation
from .gate import ApiError, caller, court_of, log_refusal, source_of
from .openapi import OPENAPI
from .rest_spec import InviteBody, ScheduleBody, SessionBody
from .runtime import NotOwner, UnknownHearing, entry_message

MAX_BODY = 16 * 1024
log = logging.getLogger(__name__)


def _court(request: Request) -> Court:
    return court_of(request)


async def _body(request: Request, *required: str) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "too_large", f"request body over {MAX_BODY} bytes")
    # The same boundary as the websocket: strict UTF-8, depth, size, finite numbers.
    data = decode_json(raw or b"{}", max_bytes=MAX_BODY, what="request body")
    if not isinstance(data, dict):
        raise ApiError(400, "malformed", "request body must be a JSON object")
    for name in required:
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise ApiError(400, "malformed", f"field {name!r} (a non-empty string) is required")
    return data


def _int_query(request: Request, name: str, default: int) -> int:
    """A non-negative integer query parameter, or 400."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ApiError(400, "malformed", f"{name} must be a non-negative integer")
    return int(raw)


async def _actor(request: Request, hearing_id: str | None, permission: Permission) -> Actor:
    """The caller (registry key, or a session token: see ``gate.caller``), if permitted."""
    actor = await caller(request, hearing_id)
    if not may(actor.role, permission):
        raise ApiError(
            403, "forbidden", f"a {actor.role.value} may not {permission.value.replace('_', ' ')}"
        )
    return actor


def _invitation(inv: Invitation) -> dict[str, Any]:
    return {
        "hearing_id": inv.hearing_id,
        "participant_id": inv.participant_id,
        "role": inv.role.value,
        "join_url": inv.join_url,
        "code": inv.code,
        "code_expires_at": inv.expires_at.isoformat(),
    }


async def create_hearing(request: Request) -> JSONResponse:
    await _actor(request, None, Permission.SCHEDULE)
    body = await _body(request, *required_fields(ScheduleBody))
    if not isinstance(body.get("title", ""), str):
        raise ApiError(400, "malformed", "field 'title' must be a string")
    hearing_id = await _court(request).schedule(
        body["case_number"],
        str(body.get("title", "")),
        body["court"],
        body["language"],
        body["scheduled_for"],
    )
    return JSONResponse({"hearing_id": hearing_id}, status_code=201)


async def get_hearing(request: Request) -> JSONResponse:
    hearing_id = request.path_params["hearing_id"]
    actor = await _actor(request, hearing_id, Permission.READ_AUDIT_LOG)
    runtime = await _court(request).runtime(hearing_id)
    view = (
        view_for(runtime.state, actor.id)
        if actor.role in (Role.JUDGE, Role.CLERK)
        else _full_view(runtime)
    )
    return JSONResponse({**view, "head_seq": runtime.head})


def _full_view(runtime: Any) -> dict[str, Any]:
    # The registry and inspectors see the whole hearing, as the bench does.
    return view_for(runtime.state, "", everything=True)


async def add_participant(request: Request) -> JSONResponse:
    hearing_id = request.path_params["hearing_id"]
    actor = await _actor(request, hearing_id, Permission.INVITE)
    body = await _body(request, *required_fields(InviteBody))
    try:
        role = Role(body["role"])
    except ValueError:
        roles = ", ".join(r.value for r in Role if r not in (Role.REGISTRY, Role.INSPECTOR))
        raise ApiError(400, "malformed", f"role must be one of: {roles}") from None
    inv = await _court(request).invite(
        hearing_id, role, body["display_name"], actor, base_url=str(request.base_url)
    )
    return JSONResponse(_invitation(inv), status_code=201)


async def reissue_code(request: Request) -> JSONResponse:
    hearing_id = request.path_params["hearing_id"]
    actor = await _actor(request, hearing_id, Permission.INVITE)
    try:
        participant_id = request.path_params["participant_id"]
        base = str(request.base_url)
        inv = await _court(request).issue_code(hearing_id, participant_id, actor, base_url=base)
    except LookupError:
        raise ApiError(404, "not_found", "no such participant in this hearing") from None
    return JSONResponse(_invitation(inv), status_code=201)


async def open_session(request: Request) -> JSONResponse:
    body = await _body(request, *required_fields(SessionBody))
    court = _court(request)
    try:
        token, claims = await court.open_session(
            body["hearing_id"], body["participant_id"], body["code"], source=source_of(request)
        )
    except (AuthError, UnknownHearing) as exc:
        failure = exc.failure if isinstance(exc, AuthError) else AuthFailure.WRONG_CODE
        status = 429 if failure is AuthFailure.LOCKED else 401
        retry = failure is AuthFailure.WRONG_CODE
        hint = "check the code and try again" if retry else "ask the court clerk for a new code"
        raise ApiError(status, "refused", f"{failure.value}: {hint}") from None
    return JSONResponse(
        {
            "token": token,
            "expires_at": claims.expires_at.isoformat(),
            "hearing_id": claims.hearing_id,
            "participant_id": claims.participant_id,
            "role": claims.role.value,
            "websocket": "/ws",
        },
        status_code=201,
    )


async def read_log(request: Request) -> JSONResponse:
    hearing_id = request.path_params["hearing_id"]
    await _actor(request, hearing_id, Permission.READ_AUDIT_LOG)
    court = _court(request)
    await court.runtime(hearing_id)
    after = _int_query(request, "after", 0)
    entries = await asyncio.to_thread(court.log.read, hearing_id, after)
    return JSONResponse(
        {
            "entries": [
                {**entry_message(e), "prev_hash": e.prev_hash, "hash": e.hash} for e in entries
            ]
        }
    )


async def verify_log(request: Request) -> JSONResponse:
    hearing_id = request.path_params["hearing_id"]
    await _actor(request, hearing_id, Permission.READ_AUDIT_LOG)
    court = _court(request)
    await court.runtime(hearing_id)
    report = await asyncio.to_thread(court.log.verify, hearing_id)
    return JSONResponse(asdict(report), status_code=200 if report.ok else 409)


async def media_counters(request: Request) -> JSONResponse:
    """Packets the server forwarded per route: what isolation looks like on the wire."""
    hearing_id = request.path_params["hearing_id"]
    await _actor(request, hearing_id, Permission.READ_AUDIT_LOG)
    court = _court(request)
    await court.runtime(hearing_id)
    room = court.media.get(hearing_id)
    return JSONResponse(
        {"routes": room.counters() if room else [], "stats": await room.hub.stats() if room else {}}
    )


async def transcript_export(request: Request) -> Response:
    """The current transcript (corrections applied) as WebVTT, SRT or a plain court transcript,
    with a marked line for each stretch with no audio from a participant (``media_gap``)."""
    hearing_id = request.path_params["hearing_id"]
    await _actor(request, hearing_id, Permission.READ_AUDIT_LOG)
    runtime = await _court(request).runtime(hearing_id)
    state = runtime.state
    names = {pid: f"{p.display_name} ({p.role.value})" for pid, p in state.participants.items()}
    fmt = request.path_params["fmt"]
    if fmt == "vtt":
        vtt = to_webvtt(state.transcript, names, state.audio_gaps)
        return Response(vtt, media_type="text/vtt; charset=utf-8")
    if fmt == "srt":
        srt = to_srt(state.transcript, names, state.audio_gaps)
        return Response(srt, media_type="application/x-subrip; charset=utf-8")
    heading = [f"{state.court}  {state.case_number}", state.title, f"phase: {state.phase.value}"]
    text = to_plain_text(state.transcript, names, heading, state.audio_gaps)
    return Response(text, media_type="text/plain; charset=utf-8")


async def status(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.status)


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(OPENAPI)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def _errors(handler: Any) -> Any:
    async def wrapped(request: Request, *, again: bool = True) -> Response:
        try:
            response: Response = await handler(request)
            return response
        except NotOwner as exc:
            # Cluster mode: another node holds the hearing; it answers (api_cluster.py).
            forwarded = await forward(request, exc.hearing_id)
            if forwarded is None and again:
                return await wrapped(request, again=False)  # this node has just taken it
            return forwarded or JSONResponse(
                {"error": "moving", "message": "retry"}, status_code=503
            )
        except ApiError as exc:
            if exc.status in (401, 403):
                await log_refusal(request, exc)
            return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)
        except InputError as exc:
            status = 413 if exc.code == "too_large" else 400
            return JSONResponse({"error": exc.code, "message": exc.message}, status_code=status)
        except UnknownHearing:
            return JSONResponse(
                {"error": "not_found", "message": "no such hearing"}, status_code=404
            )
        except CommandRefused as exc:
            r = exc.rejection
            status = 403 if r.code.value == "forbidden" else 409
            return JSONResponse({"error": r.code.value, "message": r.reason}, status_code=status)
        except Exception:
            # A bug, not the caller's fault: logged with its trace, answered in JSON.
            log.exception("%s %s failed", request.method, request.url.path)
            return JSONResponse(
                {"error": "internal", "message": "the server failed on this request"},
                status_code=500,
            )

    return wrapped


routes = [
    Route("/healthz", _errors(healthz), methods=["GET"]),
    Route("/openapi.json", _errors(openapi), methods=["GET"]),
    Route("/api/v1/status", _errors(status), methods=["GET"]),
    Route("/api/v1/hearings", _errors(create_hearing), methods=["POST"]),
    Route("/api/v1/hearings/{hearing_id}", _errors(get_hearing), methods=["GET"]),
    Route("/api/v1/hearings/{hearing_id}/participants", _errors(add_participant), methods=["POST"]),
    Route(
        "/api/v1/hearings/{hearing_id}/participants/{participant_id}/join-code",
        _errors(reissue_code),
        methods=["POST"],
    ),
    Route("/api/v1/hearings/{hearing_id}/log", _errors(read_log), methods=["GET"]),
    Route("/api/v1/hearings/{hearing_id}/log/verify", _errors(verify_log), methods=["GET"]),
    Route("/api/v1/hearings/{hearing_id}/media", _errors(media_counters), methods=["GET"]),
    Route(
        "/api/v1/hearings/{hearing_id}/transcript.{fmt:str}",
        _errors(transcript_export),
        methods=["GET"],
    ),
    Route("/api/v1/sessions", _errors(open_session), methods=["POST"]),
]
