"""Checking a hearing's stored hash chain, as a pure function over the stored rows.

``verify_chain`` takes rows exactly as stored (text columns, not parsed values), so the
same check serves the live database, an export, and ``courtroom verify``.

What it catches, and what it cannot:

* one byte changed in any column of any row (type, actor, at, payload, prev_hash, hash,
  seq, hearing_id): the row's hash, or its link to the next row, no longer matches;
* a row deleted from the middle, rows swapped or reordered: a seq gap or a broken link;
* a payload rewritten to equivalent but non-canonical JSON: stored bytes != hashed bytes.

Rows deleted from the *end*, or a whole chain rewritten with freshly computed hashes,
leave a chain that is consistent with itself. Only a head recorded elsewhere catches
that: pass it as ``anchor`` (the sealed record's manifest anchors the head it saw).
Verification stops at the first problem and reports the seq where the chain breaks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import rfc8785

from courtroom.store.chain import GENESIS, entry_hash

_AT_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@dataclass(frozen=True)
class StoredEntry:
    """One row of ``events`` as stored: ``at`` and ``payload`` are the hashed text."""

    hearing_id: str
    seq: int
    type: str
    actor: str
    at: str
    payload: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainReport:
    """Result of verifying one hearing's chain.

    ``head_seq``/``head_hash`` are the last stored row's, whether or not the chain is
    intact ((0, GENESIS) when empty). ``checked`` counts rows verified before any problem.
    """

    hearing_id: str
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None


def verify_chain(
    hearing_id: str,
    rows: Sequence[StoredEntry],
    *,
    anchor: tuple[int, str] | None = None,
) -> ChainReport:
    """Verify ``rows`` (one hearing, any order) against the hash chain.

    ``anchor`` is a (seq, hash) head recorded outside the database; with it, rows
    deleted from the end and wholesale rewrites are detected too.
    """
    ordered = sorted(rows, key=lambda r: r.seq)
    head_seq, head_hash = (ordered[-1].seq, ordered[-1].hash) if ordered else (0, GENESIS)

    def fail(checked: int, seq: int, problem: str) -> ChainReport:
        return ChainReport(hearing_id, False, checked, head_seq, head_hash, seq, problem)

    prev = GENESIS
    for index, row in enumerate(ordered):
        expected = index + 1
        if row.seq != expected:
            return fail(index, expected, _explain_gap(ordered, row, expected, prev))
        if row.hearing_id != hearing_id:
            return fail(index, expected, f"seq {expected}: row belongs to another hearing")
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        problem = _check_row(row, prev, following, ordered)
        if problem is not None:
            return fail(index, expected, problem)
        prev = row.hash

    if anchor is not None:
        anchor_seq, anchor_hash = anchor
        if head_seq < anchor_seq:
            missing = _seq_range(head_seq + 1, anchor_seq)
            return fail(
                len(ordered),
                head_seq + 1,
                f"{missing} missing: the log ends at seq {head_seq} but the anchored head "
                f"is seq {anchor_seq} (rows deleted from the end)",
            )
        if anchor_seq > 0 and ordered[anchor_seq - 1].hash != anchor_hash:
            return fail(
                len(ordered),
                anchor_seq,
                f"seq {anchor_seq}: hash differs from the anchored head (log rewritten)",
            )
        if anchor_seq == 0 and anchor_hash != GENESIS:
            return fail(len(ordered), 0, "anchored head at seq 0 is not the genesis hash")
    return ChainReport(hearing_id, True, len(ordered), head_seq, head_hash, None, None)


def _seq_range(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seqs {first}-{last}"


def _recompute(row: StoredEntry) -> str | None:
    """The hash the row's stored columns give, or None if its payload cannot be hashed."""
    payload = _payload(row)
    if payload is None:
        return None
    try:
        return entry_hash(
            hearing_id=row.hearing_id,
            seq=row.seq,
            type=row.type,
            actor=row.actor,
            at=row.at,
            payload=payload,
            prev_hash=row.prev_hash,
        )
    except (ValueError, TypeError):
        return None


def _payload(row: StoredEntry) -> dict[str, Any] | None:
    try:
        value = json.loads(row.payload)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _explain_gap(ordered: Sequence[StoredEntry], row: StoredEntry, expected: int, prev: str) -> str:
    # An intact entry whose only fault is its seq column was renumbered, not deleted.
    for other in ordered:
        if other.prev_hash == prev and _recompute(replace(other, seq=expected)) == other.hash:
            return f"seq {expected}: its entry is stored as seq {other.seq} (seq altered)"
    if row.seq > expected:
        return f"{_seq_range(expected, row.seq - 1)} missing (deleted)"
    return f"seq {row.seq}: unexpected seq where seq {expected} should be (seq altered)"


def _check_row(
    row: StoredEntry,
    prev: str,
    following: StoredEntry | None,
    ordered: Sequence[StoredEntry],
) -> str | None:
    seq = row.seq
    payload = _payload(row)
    if payload is None:
        return f"seq {seq}: payload is not a JSON object (row altered)"
    if not _AT_RE.fullmatch(row.at):
        return f"seq {seq}: 'at' is not a stored UTC timestamp (row altered)"
    actual = _recompute(row)
    if actual is None:
        return f"seq {seq}: payload cannot be canonicalised (row altered)"

    if actual == row.hash:
        if row.prev_hash != prev:
            return (
                f"seq {seq}: prev_hash does not match the hash of seq {seq - 1} "
                "(row replaced with a recomputed hash)"
            )
        if rfc8785.dumps(payload).decode("utf-8") != row.payload:
            return f"seq {seq}: payload text is not the canonical JSON that was hashed"
        return None

    if row.prev_hash != prev:
        for other in ordered:
            if other.seq != seq and _recompute(replace(row, seq=other.seq)) == row.hash:
                return (
                    f"seq {seq}: holds the entry hashed as seq {other.seq} "
                    "(rows swapped or reordered)"
                )
        if _recompute(replace(row, prev_hash=prev)) == row.hash:
            return f"seq {seq}: prev_hash altered"
        return f"seq {seq}: prev_hash and hash both wrong (row replaced)"
    if following is not None and following.prev_hash == actual:
        return f"seq {seq}: stored hash altered"
    return f"seq {seq}: hash mismatch (row altered)"
