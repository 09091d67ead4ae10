"""Every REST route, its request body and its answers, each defined once, typed.

/openapi.json (``openapi.py``) and the REST tables of docs/protocol.md
(scripts/gen_protocol_docs.py) are generated from ``OPERATIONS``; a test checks that every
route of the Starlette app is here with its methods. Request bodies are dataclasses the
handlers' required fields are taken from (``schema.required_fields``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..domain.roles import Role
from ..store.verify import ChainReport
from ..wire import EventBody, HearingView, MediaStat, ParticipantView
from .metrics import Metrics

# --- who may call (the bearer credential) -------------------------------------------------

REGISTRY = "registry key"
BENCH = "registry key, or the judge's or clerk's session token"
READERS = "inspector key, registry key, or the judge's or clerk's session token"
INSPECTOR = "inspector key"
PARTICIPANT = "registry key, or a session token of this hearing's participant"
ANYONE = "none"


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


@dataclass(frozen=True)
class ReviewBody:
    disposition: Literal["confirmed", "dismissed"]
    note: str = field(default="", metadata={"doc": ""})


# --- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Error:
    error: str = field(
        metadata={"doc": "a stable code: `malformed`, `unauthenticated`, `forbidden`, ..."}
    )
    message: str


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
class AuditHead:
    seq: int
    hash: str


@dataclass(frozen=True)
class RecordOut:
    hearing_id: str
    phase: str
    document: dict[str, Any] = field(metadata={"doc": "the frozen record document"})
    document_hash: str
    message: str = field(
        metadata={"doc": "what the signer signs: `courtroom:record:<document_hash>`"}
    )
    text: str
    audit_head: AuditHead


@dataclass(frozen=True)
class OathStatement:
    participant_id: str
    text: str
    presented_at: str


@dataclass(frozen=True)
class OathOut:
    hearing_id: str
    participant_id: str
    statement: OathStatement
    text_zh: str
    text_en: str
    oath_hash: str
    message: str = field(metadata={"doc": "what the signer signs: `courtroom:oath:<oath_hash>`"})


@dataclass(frozen=True)
class StrokeOut:
    stroke_sha256: str
    bytes: int


@dataclass(frozen=True)
class SealOut:
    hearing_id: str
    document_hash: str
    sealed_sha256: str
    bytes: int
    download: str
    signatures: Any
    refusals: Any
    superseded: Any
    development_keys: bool
    timestamp_authority: Any
    warning: str | None = field(
        default=None, metadata={"doc": "set when development keys sealed it"}
    )


@dataclass(frozen=True)
class Check:
    name: str
    status: str = field(metadata={"doc": "`ok`, `failed`, ..."})
    message: str


@dataclass(frozen=True)
class Signer:
    participant_id: str
    purpose: str


@dataclass(frozen=True)
class VerifyOut:
    ok: bool
    checks: tuple[Check, ...]
    signers: tuple[Signer, ...]


@dataclass(frozen=True)
class IdPhotoOut:
    participant_id: str
    sha256: str
    seq: int


@dataclass(frozen=True)
class HearingVisionOut:
    active: bool
    clock: float | None = field(metadata={"doc": "the hearing's recording clock now, seconds"})
    watched: tuple[str, ...]
    samples: int


@dataclass(frozen=True)
class Flag:
    hearing_id: str
    case_number: str
    flag_id: str
    participant: str
    role: str | None
    display_name: str | None
    kind: str
    t0: float
    t1: float | None
    open: bool
    confidence: float
    evidence_sha256: str
    evidence_t: float
    evidence_url: str | None
    recordings_url: str
    disposition: str = field(metadata={"doc": "`pending`, `confirmed` or `dismissed`"})
    note: str


@dataclass(frozen=True)
class Flags:
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class FlagStats:
    kinds: dict[str, dict[str, Any]] = field(
        metadata={"doc": "per kind: raised, confirmed, dismissed, pending, rate"}
    )
    total: dict[str, Any]


@dataclass(frozen=True)
class ReviewOut:
    seq: int
    flag: Flag | None


@dataclass(frozen=True)
class Segment:
    file: str
    kind: str
    start: float
    end: float
    sha256: str
    bytes: int
    url: str
    flag_offset: float


@dataclass(frozen=True)
class FlagRecordings:
    flag: Flag
    window: tuple[float | None, ...]
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Ok:
    ok: bool


# --- operations -----------------------------------------------------------------------------

Body = type | str | None  # a dataclass (JSON), a media type (raw bytes), or nothing


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["path", "query"]
    type: Any = str
    description: str = ""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    auth: str
    body: Body = None
    answers: tuple[tuple[int, str, Body], ...] = ()
    query: tuple[Param, ...] = ()


def _path_params(path: str) -> tuple[Param, ...]:
    names = [part.split("}")[0] for part in path.split("{")[1:]]
    return tuple(Param(n, "path") for n in names)


H = "/api/v1/hearings/{hearing_id}"
JSON_ANY = dict[str, Any]

OPERATIONS: tuple[Operation, ...] = (
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
        answers=((200, "Metrics", Metrics),),
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
        "The transcript, corrections applied",
        BENCH,
        answers=((200, "WebVTT, SRT or plain text", "text/plain"),),
        query=(Param("fmt", "path", Literal["vtt", "srt", "txt"]),),
    ),
    # the sealed record
    Operation(
        "GET",
        H + "/record",
        "The frozen record to review and sign (after the close)",
        PARTICIPANT + " who signs (a witness only while in the hearing)",
        answers=((200, "Record", RecordOut),),
    ),
    Operation(
        "GET",
        H + "/oath",
        "The oath to sign",
        "a witness's or interpreter's session token",
        answers=((200, "Oath", OathOut),),
    ),
    Operation(
        "POST",
        H + "/strokes",
        "Upload a handwritten signature image (PNG, ≤ 256 KiB)",
        "a signer's session token",
        "image/png",
        ((201, "Stored", StrokeOut), (413, "Too large", Error)),
    ),
    Operation(
        "POST",
        H + "/seal",
        "Seal the closed hearing's record (PAdES B-T)",
        "the judge's session token",
        answers=(
            (201, "Sealed", SealOut),
            (503, "No keys or timestamp authority configured", Error),
        ),
    ),
    Operation(
        "GET",
        H + "/record.pdf",
        "The sealed PDF",
        PARTICIPANT,
        answers=((200, "The sealed PDF", "application/pdf"),),
    ),
    Operation(
        "POST",
        "/api/v1/verify",
        "Verify a sealed PDF",
        ANYONE,
        "application/pdf",
        (
            (200, "Report", VerifyOut),
            (413, "Too large", Error),
            (503, "This server has no trust root configured", Error),
        ),
        query=(Param("hearing_id", "query", str, "also compare with this server's log"),),
    ),
    # identity and the discipline watch
    Operation(
        "GET",
        "/api/v1/vision/status",
        "The discipline watch's models and state",
        ANYONE,
        answers=((200, "Status", JSON_ANY),),
    ),
    Operation(
        "GET",
        H + "/vision",
        "The watch over one hearing",
        READERS,
        answers=((200, "Watch", HearingVisionOut),),
    ),
    Operation(
        "POST",
        H + "/participants/{participant_id}/id-photo",
        "Register a participant's ID photo (JPEG or PNG body)",
        "registry key, or the judge's, clerk's or kiosk supervisor's session token",
        "image/jpeg",
        ((201, "Registered", IdPhotoOut), (413, "Too large", Error)),
    ),
    Operation(
        "GET",
        "/api/v1/flags",
        "Discipline flags, all hearings",
        INSPECTOR,
        answers=((200, "Flags", Flags),),
        query=(
            Param("hearing", "query"),
            Param("kind", "query"),
            Param("disposition", "query", Literal["confirmed", "dismissed", "pending"]),
            Param("participant", "query"),
        ),
    ),
    Operation(
        "GET",
        "/api/v1/flags/stats",
        "Flags per kind and dismissal rates",
        INSPECTOR,
        answers=((200, "Stats", FlagStats),),
        query=(Param("hearing", "query"),),
    ),
    Operation(
        "POST",
        H + "/flags/{flag_id}/review",
        "Confirm or dismiss a flag",
        INSPECTOR,
        ReviewBody,
        ((200, "Reviewed", ReviewOut),),
    ),
    Operation(
        "GET",
        H + "/flags/{flag_id}/recordings",
        "The flagged participant's recording segments around the flag",
        READERS,
        answers=((200, "Segments", FlagRecordings),),
    ),
    Operation(
        "GET",
        H + "/evidence/{sha256}.jpg",
        "A flag's evidence snapshot",
        READERS,
        answers=((200, "JPEG", "image/jpeg"),),
    ),
    Operation(
        "GET",
        H + "/recordings/{file}",
        "A recording segment the log vouches for",
        READERS,
        answers=((200, "WebM", "video/webm"),),
    ),
)


def parameters(op: Operation) -> tuple[Param, ...]:
    """Path parameters (as typed in ``query`` when listed there, else strings), then query."""
    given = {p.name: p for p in op.query if p.where == "path"}
    path = tuple(given.get(p.name, p) for p in _path_params(op.path))
    return path + tuple(p for p in op.query if p.where == "query")


# Tokens on REST: kept in this one place (docs and /openapi.json quote it).
TOKENS_ON_REST = (
    "Session tokens are single-use for opening a websocket: the `hello` consumes the token's "
    "id, and a second `hello` with it is refused (4401). REST does not consume tokens: a REST "
    "route accepts any session token that is correctly signed and not expired, whether or not "
    "it has opened a websocket, and then checks the role the token names."
)
