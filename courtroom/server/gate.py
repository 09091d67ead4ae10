"""Who is calling a REST route, and the log of every caller turned away.

One gate for every route: the registry key, the inspector key, or a session token that
is genuine, unexpired, not yet spent on a websocket, of this hearing, and held by a
participant the court has not dismissed or removed. Each 401 and 403 is logged (see
``server/refusals.py``): in the hearing's log once the caller's hearing is authentic,
otherwise in the ``_security`` chain.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from ..domain.hearing import REGISTRY, Actor
from ..domain.presence import Presence
from .auth import AuthError
from .refusals import SECURITY_STREAM

if TYPE_CHECKING:
    from .court import Court

# Presences whose tokens read nothing any more.
_OUT = (Presence.DISMISSED, Presence.REMOVED)


@dataclass(frozen=True)
class Subject:
    """Where a refusal of this caller is logged, and under which participant id."""

    stream: str
    participant: str = ""


ANONYMOUS = Subject(SECURITY_STREAM)


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, *, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.reason = reason or message  # what the refusal log says (no secrets)


def court_of(request: Request) -> Court:
    court: Court = request.app.state.court
    return court


def route_label(request: Request) -> str:
    """``GET /api/v1/hearings/{hearing_id}/oath``: the route, not the caller's values."""
    parts = request.url.path.split("/")
    for name, value in request.path_params.items():
        text = str(value)
        if text:
            parts = [p.replace(text, "{" + name + "}") for p in parts]
    return f"{request.method} {'/'.join(parts)}"[:200]


def source_of(request: Request) -> str:
    return request.client.host if request.client is not None else ""


def _subject(request: Request, subject: Subject) -> None:
    request.state.subject = subject


def subject_of(request: Request) -> Subject:
    subject = getattr(request.state, "subject", None)
    return subject if isinstance(subject, Subject) else ANONYMOUS


def bearer(request: Request, what: str = "registry key or session token") -> str:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        raise ApiError(
            401, "unauthenticated", f"send Authorization: Bearer <{what}>", reason="no credentials"
        )
    return header.removeprefix("Bearer ").strip()


def is_key(secret: str, key: str) -> bool:
    return hmac.compare_digest(secret.encode(), key.encode())


async def caller(request: Request, hearing_id: str | None) -> Actor:
    """The registry (by its key) or a participant of ``hearing_id`` (by session token).

    With ``hearing_id=None`` any hearing's participant passes the token checks; the
    route's own permission check decides the rest.
    """
    secret = bearer(request)
    court = court_of(request)
    if is_key(secret, court.registry_key):
        _subject(request, Subject(hearing_id or SECURITY_STREAM, REGISTRY.id))
        return REGISTRY
    try:
        claims = await court.check_token(
            secret, route=route_label(request), source=source_of(request)
        )
    except AuthError as exc:
        request.state.logged = True  # check_token logged it
        raise ApiError(401, "unauthenticated", exc.failure.value) from None
    _subject(request, Subject(claims.hearing_id, claims.participant_id))
    if hearing_id is not None and claims.hearing_id != hearing_id:
        raise ApiError(
            403,
            "forbidden",
            "that token belongs to another hearing",
            reason=f"a token of this hearing used on another hearing ({hearing_id[:64]})",
        )
    runtime = await court.runtime(claims.hearing_id)
    me = runtime.state.participant(claims.participant_id)
    if me is None or me.role is not claims.role:
        raise ApiError(403, "forbidden", "you are not a participant of this hearing")
    if me.presence in _OUT:
        raise ApiError(
            403,
            "forbidden",
            f"{me.presence.value}: this token no longer gives access to the hearing",
            reason=f"{me.presence.value} participant",
        )
    return Actor(claims.participant_id, claims.role)


async def log_refusal(request: Request, error: ApiError) -> None:
    """Log a 401/403 answer (once) under the caller's subject."""
    if getattr(request.state, "logged", False):
        return
    request.state.logged = True
    subject = subject_of(request)
    await court_of(request).refuse(
        subject.stream,
        subject.participant,
        error.reason[:200],
        route=route_label(request),
        source=source_of(request),
    )
