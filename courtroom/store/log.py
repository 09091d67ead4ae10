"""The append-only, hash-chained event log: one chain per hearing.

Synchronous API (the async server calls it through ``asyncio.to_thread``). Entries are
numbered from 1 per hearing; ``append`` takes the head seq the caller last saw and fails
with ``ConcurrencyConflict`` if another writer got there first, so two writers can never
fork a hearing's chain. The composite primary key (hearing_id, seq) is the final guard:
on PostgreSQL a racing insert of the same seq fails on it; on SQLite writers take the
write lock before reading the head (BEGIN IMMEDIATE).

Exceptions::

    ConcurrencyConflict      the hearing's head moved (re-read, re-decide, retry)
    ValueError               a naive timestamp, or a payload that is not canonical JSON
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from courtroom.store.chain import GENESIS, entry_hash
from courtroom.store.engine import WRITE_TXN
from courtroom.store.tables import EVENTS, format_at, parse_at
from courtroom.store.verify import ChainReport, StoredEntry, verify_chain


@dataclass(frozen=True)
class NewEntry:
    """An entry to append. ``at`` must be timezone-aware; payload must be a JSON object."""

    type: str
    actor: str
    at: datetime
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class LogEntry:
    """A stored entry. ``at`` is aware UTC; ``payload`` is the stored JSON, decoded."""

    hearing_id: str
    seq: int
    type: str
    actor: str
    at: datetime
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class ConcurrencyConflict(Exception):
    """The hearing's head was not ``expected`` when appending: someone else appended."""

    def __init__(self, hearing_id: str, expected: int, actual: int) -> None:
        super().__init__(f"hearing {hearing_id}: expected head seq {expected}, found {actual}")
        self.hearing_id = hearing_id
        self.expected = expected
        self.actual = actual


class EventLog:
    """Append, read and verify hearings' event chains in one database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE_TXN)

    def append(
        self, hearing_id: str, expected_seq: int, entries: Sequence[NewEntry]
    ) -> list[LogEntry]:
        """Append ``entries`` after head ``expected_seq`` (0 for a new hearing), atomically."""
        if expected_seq < 0:
            raise ValueError("expected_seq must be >= 0")
        # Canonicalise before opening the transaction: bad input never holds the lock.
        prepared = [(e, format_at(e.at), _canonical(e.payload)) for e in entries]
        stored: list[LogEntry] = []
        try:
            with self._writer.begin() as conn:
                head_seq, prev = _head(conn, hearing_id)
                if head_seq != expected_seq:
                    raise ConcurrencyConflict(hearing_id, expected_seq, head_seq)
                rows: list[dict[str, Any]] = []
                for offset, (entry, at_text, (payload_text, payload)) in enumerate(prepared):
                    seq = head_seq + 1 + offset
                    digest = entry_hash(
                        hearing_id=hearing_id,
                        seq=seq,
                        type=entry.type,
                        actor=entry.actor,
                        at=at_text,
                        payload=payload,
                        prev_hash=prev,
                    )
                    rows.append(
                        {
                            "hearing_id": hearing_id,
                            "seq": seq,
                            "type": entry.type,
                            "actor": entry.actor,
                            "at": at_text,
                            "payload": payload_text,
                            "prev_hash": prev,
                            "hash": digest,
                        }
                    )
                    stored.append(
                        LogEntry(
                            hearing_id=hearing_id,
                            seq=seq,
                            type=entry.type,
                            actor=entry.actor,
                            at=parse_at(at_text),
                            payload=payload,
                            prev_hash=prev,
                            hash=digest,
                        )
                    )
                    prev = digest
                if rows:
                    conn.execute(insert(EVENTS), rows)
        except IntegrityError as exc:
            # Lost a race on the (hearing_id, seq) key: the other writer committed first.
            actual, _ = self.head(hearing_id)
            raise ConcurrencyConflict(hearing_id, expected_seq, actual) from exc
        return stored

    def read(
        self, hearing_id: str, after_seq: int = 0, *, limit: int | None = None
    ) -> list[LogEntry]:
        """Entries with seq > ``after_seq``, in order (at most ``limit`` of them)."""
        query = (
            select(EVENTS)
            .where(EVENTS.c.hearing_id == hearing_id, EVENTS.c.seq > after_seq)
            .order_by(EVENTS.c.seq)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            LogEntry(
                hearing_id=r.hearing_id,
                seq=r.seq,
                type=r.type,
                actor=r.actor,
                at=parse_at(r.at),
                payload=json.loads(r.payload),
                prev_hash=r.prev_hash,
                hash=r.hash,
            )
            for r in rows
        ]

    def head(self, hearing_id: str) -> tuple[int, str]:
        """(seq, hash) of the last entry; (0, GENESIS) for an empty hearing."""
        with self._engine.connect() as conn:
            return _head(conn, hearing_id)

    def hearing_ids(self) -> list[str]:
        """Every hearing with at least one entry, sorted."""
        query = select(EVENTS.c.hearing_id).distinct().order_by(EVENTS.c.hearing_id)
        with self._engine.connect() as conn:
            return [str(h) for h in conn.execute(query).scalars()]

    def stored_entries(self, hearing_id: str) -> list[StoredEntry]:
        """The hearing's rows exactly as stored (for export and offline verification)."""
        query = select(EVENTS).where(EVENTS.c.hearing_id == hearing_id).order_by(EVENTS.c.seq)
        with self._engine.connect() as conn:
            return [
                StoredEntry(
                    hearing_id=r.hearing_id,
                    seq=r.seq,
                    type=r.type,
                    actor=r.actor,
                    at=r.at,
                    payload=r.payload,
                    prev_hash=r.prev_hash,
                    hash=r.hash,
                )
                for r in conn.execute(query)
            ]

    def verify(self, hearing_id: str, *, anchor: tuple[int, str] | None = None) -> ChainReport:
        """Re-hash the stored chain. See ``courtroom.store.verify`` for what it detects."""
        return verify_chain(hearing_id, self.stored_entries(hearing_id), anchor=anchor)


def _head(conn: Connection, hearing_id: str) -> tuple[int, str]:
    row = conn.execute(
        select(EVENTS.c.seq, EVENTS.c.hash)
        .where(EVENTS.c.hearing_id == hearing_id)
        .order_by(EVENTS.c.seq.desc())
        .limit(1)
    ).first()
    return (0, GENESIS) if row is None else (int(row.seq), str(row.hash))


def _canonical(payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(canonical JSON text, the object that text decodes to)."""
    if not isinstance(payload, Mapping):
        raise ValueError("payload must be a JSON object")
    try:
        text = rfc8785.dumps(dict(payload)).decode("utf-8")
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        # The type only: the message could quote payload content (PII).
        raise ValueError(f"payload is not JSON ({type(exc).__name__})") from exc
    decoded: dict[str, Any] = json.loads(text)
    return text, decoded
