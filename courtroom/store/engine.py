"""Opening the database: SQLite (one file, the default) or PostgreSQL (multi-node)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from courtroom.store.tables import TABLES, install_triggers

SQLITE_BUSY_TIMEOUT_MS = 10_000

# Execution option read by the SQLite "begin" hook: writers take the write lock up front
# (BEGIN IMMEDIATE) so that the head they check is still the head when they insert.
WRITE_TXN = {"courtroom_write": True}

# Any stable 64-bit number: serialises schema creation between processes on PostgreSQL.
_PG_SCHEMA_LOCK = 0x636F7572_74726F6F


def open_engine(url: str, **engine_kwargs: Any) -> Engine:
    """Create an engine for ``sqlite:///path.db`` or ``postgresql+psycopg://...``.

    Creates the tables and the append-only triggers if they are missing. For SQLite the
    parent directory is created and every connection gets WAL, a busy timeout and foreign
    keys.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False},
            **engine_kwargs,
        )
        _configure_sqlite(engine)
    elif backend == "postgresql":
        engine = create_engine(parsed, pool_pre_ping=True, **engine_kwargs)
    else:
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")
    with engine.execution_options(**WRITE_TXN).begin() as conn:
        if backend == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
        SQLModel.metadata.create_all(conn, tables=list(TABLES))
        install_triggers(conn)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below issue BEGIN itself (pysqlite's own
        # implicit transactions cannot do BEGIN IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA foreign_keys = ON")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("courtroom_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
