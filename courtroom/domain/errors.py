"""Why the court refuses a command."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Refusal(StrEnum):
    FORBIDDEN = "forbidden"  # the actor's role may not do this
    WRONG_PHASE = "wrong_phase"  # not in this phase of the hearing
    INVALID_TRANSITION = "invalid_transition"  # that phase cannot follow this one
    UNKNOWN_PARTICIPANT = "unknown_participant"
    WRONG_PRESENCE = "wrong_presence"  # e.g. calling in someone who is not waiting
    DISMISSED = "dismissed"
    REMOVED = "removed"
    NOT_SCHEDULED = "not_scheduled"
    ALREADY_EXISTS = "already_exists"
    INVALID = "invalid"  # the command itself is malformed for this hearing
    IDENTITY_UNCONFIRMED = "identity_unconfirmed"  # the face did not match the ID photo
    NO_SIGNING_KEY = "no_signing_key"
    CHAT_MUTED = "chat_muted"  # the judge muted this participant's chat
    CHAT_RATE_LIMITED = "chat_rate_limited"  # too many messages in a short time
    # Checked by the server before the court decides a signature:
    HASH_MISMATCH = "hash_mismatch"  # not the current record's (or oath's) hash
    BAD_SIGNATURE = "bad_signature"  # does not verify with the registered key
    STROKE_MISSING = "stroke_missing"  # no handwritten signature image from this signer


@dataclass(frozen=True)
class Rejected:
    """``decide``'s answer when the command is refused. It is recorded in the log too."""

    code: Refusal
    reason: str
