"""The hash chain of the audit log, as a pure function.

Every stored event carries ``prev_hash`` (the hash of the event before it in the same
hearing, or ``GENESIS`` for the first) and its own ``hash``. The hash covers the
canonical JSON (RFC 8785) of every field, so changing one byte of any stored column,
deleting an event or reordering events breaks the chain. The store, the sealed
record and ``courtroom verify`` all use this one function.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import rfc8785

GENESIS = "0" * 64


def entry_hash(
    *,
    hearing_id: str,
    seq: int,
    type: str,
    actor: str,
    at: str,
    payload: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of one log entry. ``at`` is ISO 8601 UTC text exactly as stored."""
    body: dict[str, Any] = {
        "hearing_id": hearing_id,
        "seq": seq,
        "type": type,
        "actor": actor,
        "at": at,
        "payload": dict(payload),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()
