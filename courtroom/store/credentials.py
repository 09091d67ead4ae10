"""One-time join codes and single-use credentials, in insert-only tables.

Only hashes are stored, never the codes or tokens themselves. ``consume_credential``
is atomic across processes and nodes: the primary key decides who used it first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Executable, Row, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from courtroom.store.tables import JOIN_CODES, USED_CREDENTIALS, format_at, parse_at


class DuplicateJoinCode(Exception):
    """A join code with this hash was already issued."""


@dataclass(frozen=True)
class JoinCode:
    code_hash: str
    hearing_id: str
    participant_id: str
    issued_at: datetime
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


class CredentialStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def issue_join_code(
        self,
        code_hash: str,
        hearing_id: str,
        participant_id: str,
        expires_at: datetime,
        *,
        issued_at: datetime | None = None,
    ) -> JoinCode:
        """Record a new join code (by its hash). Raises ``DuplicateJoinCode`` on reuse."""
        issued_text = format_at(issued_at or datetime.now(UTC))
        expires_text = format_at(expires_at)
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    JOIN_CODES.insert().values(
                        code_hash=code_hash,
                        hearing_id=hearing_id,
                        participant_id=participant_id,
                        issued_at=issued_text,
                        expires_at=expires_text,
                    )
                )
        except IntegrityError as exc:
            raise DuplicateJoinCode("join code already issued") from exc
        return JoinCode(
            code_hash, hearing_id, participant_id, parse_at(issued_text), parse_at(expires_text)
        )

    def find_join_code(self, code_hash: str) -> JoinCode | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(JOIN_CODES).where(JOIN_CODES.c.code_hash == code_hash)
            ).first()
        return None if row is None else _join_code(row)

    def latest_join_code(self, hearing_id: str, participant_id: str) -> JoinCode | None:
        """The most recently issued code for this participant (a new code supersedes)."""
        query = (
            select(JOIN_CODES)
            .where(
                JOIN_CODES.c.hearing_id == hearing_id,
                JOIN_CODES.c.participant_id == participant_id,
            )
            .order_by(JOIN_CODES.c.issued_at.desc(), JOIN_CODES.c.code_hash.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _join_code(row)

    def credential_used(self, kind: str, digest: str) -> bool:
        """Whether the credential was consumed (read-only: REST checks, never spends)."""
        query = select(USED_CREDENTIALS.c.digest).where(
            USED_CREDENTIALS.c.digest == digest, USED_CREDENTIALS.c.kind == kind
        )
        with self._engine.connect() as conn:
            return conn.execute(query).first() is not None

    def consume_credential(
        self, kind: str, digest: str, *, used_at: datetime | None = None
    ) -> bool:
        """Mark a credential used: True the first time, False every time after."""
        values = {
            "digest": digest,
            "kind": kind,
            "used_at": format_at(used_at or datetime.now(UTC)),
        }
        # ON CONFLICT DO NOTHING: a reused credential is an answer, not a database error.
        # RETURNING tells whether our row went in (rowcount is not reliable across drivers).
        stmt: Executable
        if self._engine.dialect.name == "postgresql":
            stmt = (
                postgresql.insert(USED_CREDENTIALS)
                .values(values)
                .on_conflict_do_nothing()
                .returning(USED_CREDENTIALS.c.digest)
            )
        else:
            stmt = (
                sqlite.insert(USED_CREDENTIALS)
                .values(values)
                .on_conflict_do_nothing()
                .returning(USED_CREDENTIALS.c.digest)
            )
        with self._engine.begin() as conn:
            return conn.execute(stmt).first() is not None


def _join_code(row: Row[Any]) -> JoinCode:
    return JoinCode(
        code_hash=row.code_hash,
        hearing_id=row.hearing_id,
        participant_id=row.participant_id,
        issued_at=parse_at(row.issued_at),
        expires_at=parse_at(row.expires_at),
    )
