"""The signalling protocol, version 1: typed client messages in, JSON objects out.

Parse and serialise only; see docs/protocol.md for the reference. Every problem with
an incoming message becomes a ``ProtocolError`` with a stable code and a message a
developer can act on; the connection stays open unless the transport itself failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from .domain.codec import CodecError, from_json, to_json
from .domain.commands import CLIENT_COMMANDS, COMMAND_TYPES, Command
from .domain.errors import Rejected
from .domain.events import Event
from .inbound import InputError, clean_text, decode_json

VERSION = 1
# Larger messages are refused with an error; the transport closes at 1 MiB (code 1009).
MAX_MESSAGE_BYTES = 64 * 1024
TRANSPORT_MAX_BYTES = 1024 * 1024
MAX_ID_CHARS = 64


class ErrorCode(StrEnum):
    MALFORMED = "malformed"  # not JSON, not an object, or fields of the wrong type
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_TYPE = "unknown_type"
    UNKNOWN_COMMAND = "unknown_command"
    TOO_LARGE = "too_large"
    NOT_AUTHENTICATED = "not_authenticated"
    ALREADY_AUTHENTICATED = "already_authenticated"
    BUSY = "busy"  # too many messages; slow down
    INTERNAL = "internal"  # the server failed on this message; it is logged, the socket stays


class CloseCode(IntEnum):
    """Websocket close codes (4000-4999 are ours)."""

    BAD_HELLO = 4400
    UNAUTHORIZED = 4401  # forged, expired or replayed token
    REFUSED = 4403  # dismissed or removed
    HELLO_TIMEOUT = 4408
    REPLACED = 4409  # the same participant connected again elsewhere
    MOVED = 4307  # another node holds the hearing: reconnect to the `redirect` message's url
    MOVING = 4503  # no node holds the hearing right now: reconnect where you started, later
    SERVER_SHUTDOWN = 1001


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, message: str, msg_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.msg_id = msg_id


@dataclass(frozen=True)
class Hello:
    token: str
    after: int | None = None  # the last event seq the client saw: send what it missed


@dataclass(frozen=True)
class CommandMessage:
    id: str
    command: Command


@dataclass(frozen=True)
class SignalMessage:
    """WebRTC signalling (offer, answer, candidate) for the media hub."""

    data: dict[str, Any]


@dataclass(frozen=True)
class Ping:
    id: str | None


ClientMessage = Hello | CommandMessage | SignalMessage | Ping


# Fields each message type may carry (``v``, ``type`` and ``id`` are allowed on every one).
_FIELDS: dict[str, frozenset[str]] = {
    "hello": frozenset({"token", "after"}),
    "command": frozenset({"name", "args"}),
    "signal": frozenset({"data"}),
    "ping": frozenset(),
}
_COMMON = frozenset({"v", "type", "id"})


def parse(raw: str | bytes) -> ClientMessage:
    """One client message, or ``ProtocolError``.

    Decoding (UTF-8, size, depth, numbers) is ``courtroom.inbound``'s; the schema of each
    message type is checked here, so nothing malformed reaches the court or the log.
    """
    try:
        data = decode_json(raw, max_bytes=MAX_MESSAGE_BYTES)
    except InputError as exc:
        code = ErrorCode.TOO_LARGE if exc.code == "too_large" else ErrorCode.MALFORMED
        raise ProtocolError(code, exc.message, _clean_id(exc.value)) from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.MALFORMED, "message must be a JSON object")
    msg_id = data.get("id")
    if msg_id is not None and (
        not isinstance(msg_id, str) or not msg_id or len(msg_id) > MAX_ID_CHARS
    ):
        raise ProtocolError(
            ErrorCode.MALFORMED, f"id must be a string of 1 to {MAX_ID_CHARS} characters"
        )
    if data.get("v") != VERSION:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f'this server speaks protocol version {VERSION}; send "v": {VERSION}',
            msg_id,
        )
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        shown = kind if isinstance(kind, str | int | float | bool) or kind is None else "…"
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {shown!r}", msg_id)
    unknown = sorted(set(data) - _COMMON - _FIELDS[kind])
    if unknown:
        raise ProtocolError(
            ErrorCode.MALFORMED, f"{kind}: unknown field(s) {', '.join(unknown)[:200]}", msg_id
        )
    if kind == "hello":
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise ProtocolError(ErrorCode.MALFORMED, "hello needs a token string", msg_id)
        after = data.get("after")
        if after is not None and (
            isinstance(after, bool) or not isinstance(after, int) or after < 0
        ):
            raise ProtocolError(
                ErrorCode.MALFORMED, "hello's after must be a non-negative integer (a seq)", msg_id
            )
        return Hello(token, after)
    if kind == "command":
        return _command(data, msg_id)
    if kind == "signal":
        payload = data.get("data")
        if not isinstance(payload, dict):
            raise ProtocolError(ErrorCode.MALFORMED, "signal needs a data object", msg_id)
        problem = signal_problem(payload)
        if problem is not None:
            raise ProtocolError(ErrorCode.MALFORMED, problem, msg_id)
        return SignalMessage(payload)
    return Ping(msg_id)


def _clean_id(value: Any) -> str | None:
    """The id of a message refused after parsing, when it is itself fine to echo."""
    msg_id = value.get("id") if isinstance(value, dict) else None
    if not isinstance(msg_id, str) or not 0 < len(msg_id) <= MAX_ID_CHARS:
        return None
    try:
        clean_text(msg_id, "id")
    except InputError:
        return None
    return msg_id


# WebRTC signalling a client may send (docs/protocol.md, "Media signalling").
SIGNAL_FIELDS: dict[str, frozenset[str]] = {
    "hello": frozenset(),
    "answer": frozenset({"sdp", "seq"}),
    "renegotiate": frozenset(),
    "bye": frozenset(),
}
MAX_SDP_CHARS = 32 * 1024


def signal_problem(data: dict[str, Any]) -> str | None:
    """What is wrong with a client's ``signal`` data, or None."""
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in SIGNAL_FIELDS:
        return f"signal type must be one of: {', '.join(sorted(SIGNAL_FIELDS))}"
    unknown = sorted(set(data) - {"type"} - SIGNAL_FIELDS[kind])
    if unknown:
        return f"signal {kind}: unknown field(s) {', '.join(unknown)[:200]}"
    if kind == "answer":
        sdp, seq = data.get("sdp"), data.get("seq")
        if not isinstance(sdp, str) or isinstance(seq, bool) or not isinstance(seq, int):
            return "an answer needs sdp (string) and seq (integer)"
        if len(sdp) > MAX_SDP_CHARS:
            return f"an answer's sdp is at most {MAX_SDP_CHARS} characters"
    return None


def _command(data: dict[str, Any], msg_id: str | None) -> CommandMessage:
    if msg_id is None:
        raise ProtocolError(ErrorCode.MALFORMED, "a command needs an id to answer to")
    name = data.get("name")
    if not isinstance(name, str) or name not in CLIENT_COMMANDS:
        raise ProtocolError(ErrorCode.UNKNOWN_COMMAND, f"unknown command {name!r}", msg_id)
    args = data.get("args", {})
    try:
        command = from_json(COMMAND_TYPES[name], args)
    except CodecError as exc:
        raise ProtocolError(ErrorCode.MALFORMED, str(exc), msg_id) from None
    return CommandMessage(msg_id, command)


# --- server messages -------------------------------------------------------------------------


def error(code: ErrorCode, message: str, msg_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"v": VERSION, "type": "error", "code": code.value, "message": message}
    if msg_id is not None:
        out["id"] = msg_id
    return out


def accepted(msg_id: str, seqs: list[int]) -> dict[str, Any]:
    return {"v": VERSION, "type": "result", "id": msg_id, "ok": True, "seqs": seqs}


def rejected(msg_id: str, rejection: Rejected) -> dict[str, Any]:
    return {
        "v": VERSION,
        "type": "result",
        "id": msg_id,
        "ok": False,
        "code": rejection.code.value,
        "reason": rejection.reason,
    }


def event_body(event: Event) -> dict[str, Any]:
    return {"type": event.TYPE, **to_json(event)}


def message(kind: str, **fields: Any) -> dict[str, Any]:
    return {"v": VERSION, "type": kind, **fields}
