"""Persistence: the append-only, hash-chained event log and the credential tables.

``open_engine(url)`` gives an engine (SQLite file or PostgreSQL) with the tables and the
append-only triggers in place; ``EventLog`` and ``CredentialStore`` share it.
"""

from courtroom.store.chain import GENESIS, entry_hash
from courtroom.store.credentials import CredentialStore, DuplicateJoinCode, JoinCode
from courtroom.store.engine import open_engine
from courtroom.store.log import ConcurrencyConflict, EventLog, LogEntry, NewEntry
from courtroom.store.verify import ChainReport, StoredEntry, verify_chain

__all__ = [
    "GENESIS",
    "ChainReport",
    "ConcurrencyConflict",
    "CredentialStore",
    "DuplicateJoinCode",
    "EventLog",
    "JoinCode",
    "LogEntry",
    "NewEntry",
    "StoredEntry",
    "entry_hash",
    "open_engine",
    "verify_chain",
]
