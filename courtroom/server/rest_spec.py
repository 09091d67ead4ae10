"""Every REST route, its request body and its answers, each defined once, typed.

/openapi.json (``openapi.py``) and the REST tables of docs/protocol.md
(scripts/gen_protocol_docs.py) are generated from ``OPERATIONS``; a test checks that every
route of the Starlette app is here with its methods. Request bodies are dataclasses the
handlers' required fields are taken from (``schema.required_fields``).

This module holds the hearing's own routes and assembles ``OPERATIONS``; the sealed record,
receipts and the transparency log are in ``rest_spec_record.py``, identity photos and the
discipline watch in ``rest_spec_vision.py``, and what all share in ``rest_spec_base.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..domain.roles import Role
from ..store.verify import ChainReport
from ..wire import EventBody, HearingView, MediaStat, ParticipantView
from .metrics import Metrics
from .rest_spec_base import (
    ANYONE,
    BENCH,
    JSON_ANY,
    REGISTRY,
    Body,
    Error,
    H,
    Operation,
    Param,
    parameters,
)
from .rest_spec_cluster import CLUSTER_OPERATIONS
from .rest_spec_exhibits import EXHIBIT_OPERATIONS
from .rest_spec_metrics import METRICS_OPERATIONS
from .rest_spec_public import PUBLIC_OPERATIONS
from .rest_spec_record import RECORD_OPERATIONS
from .rest_spec_review import REVIEW_OPERATIONS
from .rest_spec_vision import VISION_OPERATIONS

# what openapi.py and scripts/gen_protocol_docs.py take from here
__all__ = [
    "ANYONE",
    "OPERATIONS",
    "TOKENS_ON_REST",
    "Body",
    "Error",
    "MediaCounters",
    "Operation",
    "RouteCount",
    "parameters",
]

# --- request bodies -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleBody:
    case_number: str
    court: str
    language: str = field(metadata={"doc": "BCP 47 primary tag, e.g. `zh`, `en`, `ko`"})
    scheduled_for: str = field(metadata={"doc": "ISO 8601 with offset"})
    title: str = field(default="", metadata={"doc": ""})


@dataclass(frozen=True)
class InviteBody:
    role: Role = field(metadata={"doc": "not `registry` nor `inspector`"})
    display_name: str


@dataclass(frozen=True)
class SessionBody:
    hearing_id: str
    participant_id: str
    code: str = field(metadata={"doc": "the one-time 8-digit join code"})


# --- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HearingCreated:
    hearing_id: str


@dataclass(frozen=True)
class Invitation:
    hearing_id: str
    participant_id: str
    role: Role
    join_url: str
    code: str = field(metadata={"doc": "one-time 8-digit join code; shown once, never logged"})
    code_expires_at: str = field(metadata={"doc": "ISO 8601"})


@dataclass(frozen=True)
class Session:
    token: str = field(metadata={"doc": "opens one websocket; see Tokens"})
    expires_at: str
    hearing_id: str
    participant_id: str
    role: Role
    websocket: str = field(metadata={"doc": "the websocket path, `/ws`"})


@dataclass(frozen=True)
class HearingStateOut:
    hearing: HearingView
    participants: tuple[ParticipantView, ...]
    head_seq: int


@dataclass(frozen=True)
class LogEntryOut:
    seq: int
    at: str
    actor: str
    event: EventBody
    prev_hash: str = field(
        metadata={"doc": "hex SHA-256 of the previous entry (64 zeros for the first)"}
    )
    hash: str = field(metadata={"doc": "hex SHA-256 over this entry and prev_hash"})


@dataclass(frozen=True)
class LogEntries:
    entries: tuple[LogEntryOut, ...]


@dataclass(frozen=True)
class RouteCount:
    source: str = field(metadata={"doc": "participant id of the publisher"})
    kind: str = field(metadata={"doc": "`audio` or `video`"})
    destination: str = field(metadata={"doc": "participant id of the receiver"})
    link: str = field(metadata={"doc": "`hearing` or `supervision`"})
    packets: int = field(
        metadata={"doc": "RTP packets the server forwarded on this route since the room opened"}
    )


@dataclass(frozen=True)
class MediaCounters:
    routes: tuple[RouteCount, ...]
    stats: dict[str, MediaStat]


@dataclass(frozen=True)
class Ok:
    ok: bool


# --- operations -----------------------------------------------------------------------------

_HEARING_OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/healthz", "Liveness", ANYONE, answers=((200, "Alive", Ok),)),
    Operation(
        "GET", "/openapi.json", "This description", ANYONE, answers=((200, "OpenAPI", None),)
    ),
    Operation(
        "GET",
        "/join",
        "The participant app (join links open it)",
        ANYONE,
        answers=((200, "HTML page", "text/html"),),
    ),
    Operation(
        "GET",
        "/api/v1/status",
        "Live transcription per language, bus, database kind",
        ANYONE,
        answers=((200, "Status", JSON_ANY),),
    ),
    Operation(
        "GET",
        "/api/v1/metrics",
        "Process health: event-loop lag, asyncio tasks, open fds, RSS",
        REGISTRY,
        answers=(
            (200, "Metrics", Metrics),
            (400, "window_s is not a positive number", Error),
            (401, "Not the registry key (logged in `_security`)", Error),
        ),
        query=(Param("window_s", "query", float, "loop lag over the last seconds (≤ 600)"),),
    ),
    Operation(
        "POST",
        "/api/v1/hearings",
        "Schedule a hearing",
        REGISTRY,
        ScheduleBody,
        ((201, "Scheduled", HearingCreated),),
    ),
    Operation(
        "GET",
        H,
        "The hearing's current state as the bench sees it",
        BENCH,
        answers=((200, "State", HearingStateOut),),
    ),
    Operation(
        "POST",
        H + "/participants",
        "Invite a participant: join link and one-time code",
        BENCH,
        InviteBody,
        ((201, "Invited", Invitation),),
    ),
    Operation(
        "POST",
        H + "/participants/{participant_id}/join-code",
        "Issue a new one-time join code (e.g. after a recall)",
        BENCH,
        answers=((201, "Issued", Invitation),),
    ),
    Operation(
        "POST",
        "/api/v1/sessions",
        "Exchange a join code for a session token",
        ANYONE,
        SessionBody,
        ((201, "Session", Session), (429, "Too many wrong codes; a new code is needed", Error)),
    ),
    Operation(
        "GET",
        H + "/log",
        "The hearing's hash-chained audit log",
        BENCH,
        answers=((200, "Entries", LogEntries),),
        query=(Param("after", "query", int, "only entries with seq > after"),),
    ),
    Operation(
        "GET",
        H + "/log/verify",
        "Verify the hearing's hash chain",
        BENCH,
        answers=((200, "Chain intact", ChainReport), (409, "Chain broken", ChainReport)),
    ),
    Operation(
        "GET",
        H + "/media",
        "Packets forwarded per route and per-participant stats",
        BENCH,
        answers=((200, "Counters", MediaCounters),),
    ),
    Operation(
        "GET",
        H + "/transcript.{fmt}",
        "The transcript, corrections applied, gaps in audio marked",
        BENCH,
        answers=((200, "WebVTT, SRT or plain text", "text/plain"),),
        query=(Param("fmt", "path", Literal["vtt", "srt", "txt"]),),
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    _HEARING_OPERATIONS
    + RECORD_OPERATIONS
    + VISION_OPERATIONS
    + CLUSTER_OPERATIONS
    + METRICS_OPERATIONS
    + REVIEW_OPERATIONS
    + EXHIBIT_OPERATIONS
    + PUBLIC_OPERATIONS
)

# Tokens on REST: kept in this one place (docs and /openapi.json quote it).
TOKENS_ON_REST = (
    "Session tokens are single-use for opening a websocket: the `hello` consumes the token's "
    "id, and a second `hello` with it is refused (4401). A token that has opened a websocket "
    "is refused on REST too (401, `replayed token`); using a token on REST does not spend it, "
    "so a client calls REST with its latest token (from `welcome` or `token`). A dismissed or "
    "removed participant's token is refused everywhere (403). REST then checks the role the "
    "token names."
)
