"""The signalling protocol, version 1: typed client messages in, JSON objects out.

Parse and serialise only; see docs/protocol.md for the reference. Every problem with
an incoming message becomes a ``ProtocolError`` with a stable code and a message a
developer can act on; the connection stays open unless the transport itself failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from .domain.codec import CodecError, from_json, to_json
from .domain.commands import CLIENT_COMMANDS, COMMAND_TYPES, Command
from .domain.errors import Rejected
from .domain.events import Event

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


class CloseCode(IntEnum):
    """Websocket close codes (4000-4999 are ours)."""

    BAD_HELLO = 4400
    UNAUTHORIZED = 4401  # forged, expired or replayed token
    REFUSED = 4403  # dismissed or removed
    HELLO_TIMEOUT = 4408
    REPLACED = 4409  # the same participant connected again elsewhere
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


def parse(raw: str | bytes) -> ClientMessage:
    """One client message, or ``ProtocolError``."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            ErrorCode.TOO_LARGE, f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}"
        )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(ErrorCode.MALFORMED, "message is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.MALFORMED, "message must be a JSON object")
    msg_id = data.get("id")
    if msg_id is not None and (not isinstance(msg_id, str) or len(msg_id) > MAX_ID_CHARS):
        raise ProtocolError(
            ErrorCode.MALFORMED, f"id must be a string of at most {MAX_ID_CHARS} characters"
        )
    if data.get("v") != VERSION:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f'this server speaks protocol version {VERSION}; send "v": {VERSION}',
            msg_id,
        )
    kind = data.get("type")
    if kind == "hello":
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise ProtocolError(ErrorCode.MALFORMED, "hello needs a token string", msg_id)
        return Hello(token)
    if kind == "command":
        return _command(data, msg_id)
    if kind == "signal":
        payload = data.get("data")
        if not isinstance(payload, dict):
            raise ProtocolError(ErrorCode.MALFORMED, "signal needs a data object", msg_id)
        return SignalMessage(payload)
    if kind == "ping":
        return Ping(msg_id)
    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r}", msg_id)


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
