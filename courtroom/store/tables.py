"""Table definitions (sqlmodel) and the database triggers that make them insert-only.

All three tables are insert-only: nothing in them is ever updated or deleted. Times are
stored as fixed-width ISO 8601 UTC text (``2024-05-01T09:30:00.000000Z``) because that
exact text is what the hash chain covers, and because it sorts and round-trips the same
way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Connection, String, Table, Text, text
from sqlmodel import Field, SQLModel

_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_at(at: datetime) -> str:
    """Timezone-aware datetime -> the stored (and hashed) ISO 8601 UTC text."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware")
    return at.astimezone(UTC).strftime(_AT_FORMAT)


def parse_at(value: str) -> datetime:
    """Stored text -> aware UTC datetime. Strict: only the exact stored format is accepted."""
    return datetime.strptime(value, _AT_FORMAT).replace(tzinfo=UTC)


class EventRow(SQLModel, table=True):
    __tablename__ = "events"

    hearing_id: str = Field(primary_key=True, max_length=128)
    seq: int = Field(primary_key=True)
    type: str = Field(max_length=128)
    actor: str = Field(max_length=128)
    at: str = Field(max_length=32)
    # canonical JSON (RFC 8785) text: the stored bytes are exactly what was hashed
    payload: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class JoinCodeRow(SQLModel, table=True):
    __tablename__ = "join_codes"

    code_hash: str = Field(primary_key=True, max_length=128)
    hearing_id: str = Field(max_length=128, index=True)
    participant_id: str = Field(max_length=128)
    issued_at: str = Field(max_length=32)
    expires_at: str = Field(max_length=32)


class UsedCredentialRow(SQLModel, table=True):
    __tablename__ = "used_credentials"

    digest: str = Field(primary_key=True, max_length=128)
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    used_at: str = Field(max_length=32)


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


EVENTS = _table(EventRow)
JOIN_CODES = _table(JoinCodeRow)
USED_CREDENTIALS = _table(UsedCredentialRow)
TABLES = (EVENTS, JOIN_CODES, USED_CREDENTIALS)

APPEND_ONLY_MESSAGE = "is append-only"


def install_triggers(conn: Connection) -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on every table here.

    Defence in depth only: someone with DDL rights can drop these, which is why the
    chain is verified independently of them.
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        for table in TABLES:
            for op in ("UPDATE", "DELETE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER IF NOT EXISTS {table.name}_no_{op.lower()} "
                        f"BEFORE {op} ON {table.name} BEGIN "
                        f"SELECT RAISE(ABORT, '{table.name} {APPEND_ONLY_MESSAGE}'); END"
                    )
                )
    elif dialect == "postgresql":
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION courtroom_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                f"RAISE EXCEPTION '% {APPEND_ONLY_MESSAGE}', TG_TABLE_NAME "
                "USING ERRCODE = 'insufficient_privilege'; END $$"
            )
        )
        for table in TABLES:
            conn.execute(
                text(
                    f"CREATE OR REPLACE TRIGGER {table.name}_append_only "
                    f"BEFORE UPDATE OR DELETE ON {table.name} "
                    "FOR EACH ROW EXECUTE FUNCTION courtroom_append_only()"
                )
            )
            conn.execute(
                text(
                    f"CREATE OR REPLACE TRIGGER {table.name}_no_truncate "
                    f"BEFORE TRUNCATE ON {table.name} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION courtroom_append_only()"
                )
            )
    else:
        raise ValueError(f"unsupported database dialect: {dialect}")
