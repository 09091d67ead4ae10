"""Chat in the sealed record: every message and every mute, rebuilt from the audit log.

The record carries the chat as the log has it, whoever it was for: messages to the hearing,
to the bench, and between the clerk and a waiting witness (``to`` says which), and the
judge's mutes. ``courtroom verify`` rebuilds the record from the attached log, so the chat
shown in the record is checked against the log like the transcript.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from courtroom.domain import events as ev

# How the record names each audience (both languages, like the rest of the record).
_AUDIENCE = {"hearing": "全体 all", "bench": "审判席 bench"}


@dataclass(frozen=True, slots=True)
class ChatEntry:
    """A chat message (``kind`` "message") or the judge's mute ("mute"/"unmute") of
    ``participant_id``; ``seq`` and ``at`` are its audit-log entry's."""

    seq: int
    at: str
    kind: str
    participant_id: str  # the sender; for a mute, the one muted
    to: str = ""
    text: str = ""


def chat_from_log(entries: Sequence[Any]) -> tuple[ChatEntry, ...]:
    """The chat entries of ``entries`` (``AuditEntry`` rows), in log order."""
    out: list[ChatEntry] = []
    for entry in entries:
        p = entry.payload
        if entry.type == ev.ChatMessage.TYPE:
            out.append(ChatEntry(entry.seq, entry.at, "message", p["sender"], p["to"], p["text"]))
        elif entry.type == ev.ChatMuteChanged.TYPE:
            kind = "mute" if p["muted"] else "unmute"
            out.append(ChatEntry(entry.seq, entry.at, kind, p["participant"]))
    return tuple(out)


def chat_to_json(chat: Sequence[ChatEntry]) -> list[dict[str, Any]]:
    return [
        {
            "seq": c.seq,
            "at": c.at,
            "kind": c.kind,
            "participant_id": c.participant_id,
            "to": c.to,
            "text": c.text,
        }
        for c in chat
    ]


def chat_from_json(items: Sequence[Mapping[str, Any]]) -> tuple[ChatEntry, ...]:
    out = []
    for c in items:
        seq = c["seq"]
        fields = (c["at"], c["kind"], c["participant_id"], c["to"], c["text"])
        if (
            isinstance(seq, bool)
            or not isinstance(seq, int)
            or not all(isinstance(f, str) for f in fields)
        ):
            raise TypeError("a chat entry has a field of the wrong type")
        out.append(ChatEntry(seq, *fields))
    return tuple(out)


def chat_row(entry: ChatEntry, names: Mapping[str, str]) -> tuple[str, str, str]:
    """(time, who → to whom, text) as the record shows one entry."""
    when = entry.at[11:19]  # hh:mm:ss of the stored ISO time (the court's clock, UTC)
    who = names.get(entry.participant_id, entry.participant_id)
    if entry.kind != "message":
        verb = "禁言 chat muted" if entry.kind == "mute" else "解除禁言 chat unmuted"
        return when, who, f"〔{verb}〕"
    target = entry.to.removeprefix("participant:")
    audience = _AUDIENCE.get(entry.to) or f"私信 private → {names.get(target, target)}"
    return when, f"{who} → {audience}", entry.text
