"""The websocket messages of protocol version 1, each defined once, typed.

``protocol.py`` parses and builds these; ``schema.py`` turns them into the JSON Schemas in
/openapi.json (``components.schemas``) and scripts/gen_protocol_docs.py into the tables of
docs/protocol.md. Command ``args`` are the command dataclasses of ``domain/commands.py``
and event payloads the event dataclasses of ``domain/events.py``.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from .domain.presence import Presence
from .domain.roles import Role
from .domain.routing import MediaKind
from .schema import MaxLength

V = Literal[1]
MsgId = Annotated[str, MaxLength(64)]


# --- client -> server ---------------------------------------------------------------------


@dataclass(frozen=True)
class HelloMessage:
    """First message, once, within 10 s of opening the socket."""

    v: V
    type: Literal["hello"]
    token: str = field(
        metadata={"doc": "the session token from POST /api/v1/sessions or the last welcome/token"}
    )
    after: int | None = field(
        default=None,
        metadata={
            "doc": "on a reconnect, the last event `seq` this client saw: after `welcome`, the "
            "server sends every event since then that this participant may see, in order, "
            "before live events (0: all of them)"
        },
    )


@dataclass(frozen=True)
class CommandMessage:
    """A command to the court; answered by a `result` with the same `id`."""

    v: V
    type: Literal["command"]
    id: MsgId = field(metadata={"doc": "chosen by the client, at most 64 characters"})
    name: str = field(metadata={"doc": "a command name (table below)"})
    args: dict[str, Any] | None = field(
        default=None, metadata={"doc": "the command's arguments (table below)"}
    )


@dataclass(frozen=True)
class SignalMessage:
    """WebRTC signalling for the media hub (see Media signalling)."""

    v: V
    type: Literal["signal"]
    data: dict[str, Any] = field(metadata={"doc": "`{type: hello|answer|renegotiate|bye, ...}`"})


@dataclass(frozen=True)
class PingMessage:
    """Answered by `pong`."""

    v: V
    type: Literal["ping"]
    id: MsgId | None = field(default=None, metadata={"doc": "echoed in the pong"})


CLIENT_MESSAGES: tuple[type, ...] = (HelloMessage, CommandMessage, SignalMessage, PingMessage)


# --- what a participant may see of the hearing ----------------------------------------------


@dataclass(frozen=True)
class HearingView:
    """The hearing. A participant who is not in the hearing may be told only its phase."""

    phase: str = field(metadata={"doc": "`scheduled`, `opening`, ... `closed`, `sealed`"})
    hearing_id: str | None = field(default=None, metadata={"doc": ""})
    case_number: str | None = field(default=None, metadata={"doc": ""})
    title: str | None = field(default=None, metadata={"doc": ""})
    court: str | None = field(default=None, metadata={"doc": ""})
    language: str | None = field(default=None, metadata={"doc": ""})
    scheduled_for: str | None = field(default=None, metadata={"doc": "ISO 8601"})
    phase_control_delegated: bool | None = field(
        default=None, metadata={"doc": "the clerk may change the phase"}
    )
    broadcast: str | None = field(
        default=None, metadata={"doc": "public broadcast: `off`, `announced`, `live`, `paused`"}
    )
    broadcast_excluded: tuple[str, ...] | None = field(
        default=None, metadata={"doc": "participants the judge keeps out of the broadcast"}
    )


@dataclass(frozen=True)
class ParticipantView:
    participant_id: str
    role: Role
    display_name: str
    presence: Presence
    connected: bool
    cut: tuple[MediaKind, ...] = field(metadata={"doc": "media the judge cut"})
    self_muted: tuple[MediaKind, ...] = field(metadata={"doc": "media the participant muted"})
    chat_muted: bool = field(default=False, metadata={"doc": "the judge muted their chat"})


@dataclass(frozen=True)
class ExhibitView:
    exhibit_id: str
    label: str = field(metadata={"doc": "the court's number, e.g. 原告证据1 or 被告证据2"})
    side: str = field(metadata={"doc": "`plaintiff` or `defendant`"})
    participant: str = field(metadata={"doc": "who submitted it"})
    sha256: str
    media_type: str = field(metadata={"doc": "as found by content: PDF, PNG or JPEG"})
    pages: int
    size: int = field(metadata={"doc": "bytes"})
    filename: str


@dataclass(frozen=True)
class ShowingView(ExhibitView):
    """The exhibit on screen for everyone in the hearing; its pages are PNGs at
    `GET /api/v1/hearings/{hearing_id}/exhibits/{exhibit_id}/pages/{page}`."""

    page: int = field(default=1, metadata={"doc": "1-based"})
    presenter: str = field(default="", metadata={"doc": ""})


@dataclass(frozen=True)
class PresentingView:
    """Exhibits this participant may know of (a witness: only the one shown while called
    in), what is on screen, and whom the judge allowed to present or share a screen."""

    exhibits: tuple[ExhibitView, ...]
    showing: ShowingView | None
    may_present: tuple[str, ...]
    may_share: tuple[str, ...]
    sharing: tuple[str, ...] = field(metadata={"doc": "sharing a screen now"})


@dataclass(frozen=True)
class StateView:
    """What this participant may see: everyone when in the hearing (or staff), else only
    themself."""

    hearing: HearingView
    participants: tuple[ParticipantView, ...]
    presenting: PresentingView | None = field(default=None, metadata={"doc": "exhibits"})


# --- server -> client ---------------------------------------------------------------------


@dataclass(frozen=True)
class WelcomeMessage:
    """The connection is in the hearing (or its lobby / waiting room)."""

    v: V
    type: Literal["welcome"]
    participant_id: str
    role: Role
    head_seq: int = field(metadata={"doc": "the log's head when the state was taken"})
    state: StateView
    token: str = field(metadata={"doc": "a fresh token for the next reconnect"})
    status: dict[str, Any] = field(
        metadata={"doc": 'e.g. `{"transcription": {"zh": {"available": false, "message": "..."}}}`'}
    )


@dataclass(frozen=True)
class RefusedMessage:
    """The court refused entry; the socket then closes with 4403."""

    v: V
    type: Literal["refused"]
    code: str = field(metadata={"doc": "a refusal code"})
    reason: str


@dataclass(frozen=True)
class ResultMessage:
    """The answer to a command: `ok: true` with the log seqs it appended, or `ok: false`
    with a refusal code (the refusal is in the log too)."""

    v: V
    type: Literal["result"]
    id: MsgId
    ok: bool
    seqs: tuple[int, ...] | None = field(default=None, metadata={"doc": "when ok"})
    code: str | None = field(default=None, metadata={"doc": "when not ok: a refusal code"})
    reason: str | None = field(default=None, metadata={"doc": "when not ok"})


@dataclass(frozen=True)
class EventBody:
    """An event: `type` plus the event's payload fields (Events table)."""

    OPEN_FIELDS: ClassVar[bool] = True
    type: str


@dataclass(frozen=True)
class EventMessage:
    """One log entry this participant may see, in log order."""

    v: V
    type: Literal["event"]
    seq: int = field(
        metadata={"doc": "the entry's sequence number in the hearing's log (1, 2, ...)"}
    )
    at: str = field(metadata={"doc": "ISO 8601 UTC time the server appended it"})
    actor: str = field(metadata={"doc": "participant id, `registry`, `inspector` or `server`"})
    event: EventBody


@dataclass(frozen=True)
class StateMessage:
    """This participant's view after an event."""

    v: V
    type: Literal["state"]
    state: StateView


@dataclass(frozen=True)
class TokenMessage:
    """A fresh reconnect token (every 5 minutes)."""

    v: V
    type: Literal["token"]
    token: str


@dataclass(frozen=True)
class ServerSignalMessage:
    """WebRTC signalling from the media hub (`config`, `offer`)."""

    v: V
    type: Literal["signal"]
    data: dict[str, Any]


@dataclass(frozen=True)
class PongMessage:
    v: V
    type: Literal["pong"]
    id: MsgId | None = field(default=None, metadata={"doc": "the ping's id"})


@dataclass(frozen=True)
class ErrorMessage:
    """A message the server could not take; the connection stays open."""

    v: V
    type: Literal["error"]
    code: str = field(metadata={"doc": "an error code"})
    message: str
    id: MsgId | None = field(
        default=None, metadata={"doc": "the offending message's id, when known"}
    )


@dataclass(frozen=True)
class MediaStat:
    state: str = field(metadata={"doc": "the peer connection's state"})
    bitrate_in: float | None = field(metadata={"doc": "bit/s received from the participant"})
    bitrate_out: float | None = field(metadata={"doc": "bit/s sent to the participant"})
    packets_received: int
    packets_lost: int
    loss_upstream: float = field(metadata={"doc": "0..1, participant to server"})
    loss_downstream: float = field(metadata={"doc": "0..1, server to participant (their reports)"})
    rtt: float | None = field(metadata={"doc": "seconds"})


@dataclass(frozen=True)
class MediaStatsMessage:
    """Every 2 s, to the judge and clerk: per participant."""

    v: V
    type: Literal["media_stats"]
    stats: dict[str, MediaStat]


@dataclass(frozen=True)
class TranscriptPartialMessage:
    """A live, not yet final, line of speech (finals are `transcript_line` events)."""

    v: V
    type: Literal["transcript_partial"]
    speaker: str
    text: str
    at: float = field(metadata={"doc": "seconds on the hearing's recording clock"})


@dataclass(frozen=True)
class TranscriptStatusMessage:
    v: V
    type: Literal["transcript_status"]
    available: bool
    message: str


@dataclass(frozen=True)
class TypingMessage:
    """To the bench only, never logged: ``participant`` is writing a chat message to ``to``
    (after their accepted `typing` command). Show it for a few seconds."""

    v: V
    type: Literal["typing"]
    participant: str
    to: str


@dataclass(frozen=True)
class RedirectMessage:
    """Another node holds this hearing (several nodes): reconnect there with the same
    token, which was not spent; the socket then closes with 4307."""

    v: V
    type: Literal["redirect"]
    url: str = field(metadata={"doc": "the owning node's websocket URL"})
    node: str = field(metadata={"doc": "the owning node's id"})


SERVER_MESSAGES: tuple[type, ...] = (
    WelcomeMessage,
    RefusedMessage,
    ResultMessage,
    EventMessage,
    StateMessage,
    TokenMessage,
    ServerSignalMessage,
    PongMessage,
    ErrorMessage,
    MediaStatsMessage,
    TranscriptPartialMessage,
    TranscriptStatusMessage,
    TypingMessage,
    RedirectMessage,
)


def message_type(cls: type) -> str:
    """The ``type`` value of a message class."""
    return str(typing.get_args(typing.get_type_hints(cls)["type"])[0])
