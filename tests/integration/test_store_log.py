"""EventLog and CredentialStore against real SQLite files and a real PostgreSQL server.

Every test runs on both backends (the ``db_url`` fixture). Tampering is done the way an
attacker with database access would: a separate plain SQL connection, triggers dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from courtroom.store import (
    GENESIS,
    ConcurrencyConflict,
    CredentialStore,
    DuplicateJoinCode,
    EventLog,
    NewEntry,
    open_engine,
)

T0 = datetime(2024, 5, 1, 9, 30, 0, 123456, tzinfo=UTC)
H = "hearing-1"


def entry(i: int, **payload: Any) -> NewEntry:
    return NewEntry(
        type="note.added",
        actor=f"judge-{i % 2}",
        at=T0 + timedelta(seconds=i),
        payload={"n": i, "text": f"第{i}条记录", **payload},
    )


@pytest.fixture
def engines(db_url: str) -> Iterator[Callable[[], Engine]]:
    """Open engines on the test database; all disposed at the end."""
    opened: list[Engine] = []

    def make() -> Engine:
        engine = open_engine(db_url)
        opened.append(engine)
        return engine

    yield make
    for engine in opened:
        engine.dispose()


@pytest.fixture
def log(engines: Callable[[], Engine]) -> EventLog:
    return EventLog(engines())


@pytest.fixture
def attacker(db_url: str) -> Iterator[Engine]:
    """A plain SQL connection to the same database, as someone with DBA rights."""
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


def drop_triggers(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER events_append_only ON events"))


def tamper(engine: Engine, sql: str, **params: Any) -> None:
    drop_triggers(engine)
    with engine.begin() as conn:
        assert conn.execute(text(sql), params).rowcount >= 1


def stored(engine: Engine, seq: int, column: str, hearing_id: str = H) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            text(f"SELECT {column} FROM events WHERE hearing_id = :h AND seq = :s"),
            {"h": hearing_id, "s": seq},
        ).scalar_one()


def flip(value: str, index: int) -> str:
    """``value`` with one character changed."""
    old = value[index]
    new = "0" if old != "0" else "1"
    return value[:index] + new + value[index + 1 :]


def filled(log: EventLog, n: int = 5, hearing_id: str = H) -> EventLog:
    log.append(hearing_id, 0, [entry(i) for i in range(1, n + 1)])
    return log


# --- append / read / head -----------------------------------------------------------


def test_empty_hearing(log: EventLog) -> None:
    assert log.head(H) == (0, GENESIS)
    assert log.read(H) == []
    assert log.hearing_ids() == []
    report = log.verify(H)
    assert report.ok and report.checked == 0 and report.head_seq == 0


def test_append_read_head_and_chain_links(log: EventLog) -> None:
    first = log.append(H, 0, [entry(1)])
    more = log.append(H, 1, [entry(2), entry(3)])
    entries = log.read(H)
    assert entries == first + more
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert log.head(H) == (3, entries[-1].hash)
    assert log.read(H, after_seq=1) == entries[1:]
    assert log.read(H, after_seq=1, limit=1) == entries[1:2]
    assert log.read(H, after_seq=3) == []
    e = entries[1]
    assert (e.type, e.actor, e.at, e.payload) == ("note.added", "judge-0", T0 + timedelta(seconds=2),
                                                  {"n": 2, "text": "第2条记录"})  # fmt: skip


def test_timestamps_are_normalised_to_utc(log: EventLog) -> None:
    local = datetime(2024, 5, 1, 17, 30, 0, 5, tzinfo=timezone(timedelta(hours=8)))
    (e,) = log.append(H, 0, [NewEntry("x", "a", local, {})])
    assert e.at == datetime(2024, 5, 1, 9, 30, 0, 5, tzinfo=UTC)
    assert e.at.tzinfo is UTC
    assert log.read(H) == [e]


def test_rejects_naive_time_and_non_json_payload(log: EventLog) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        log.append(H, 0, [NewEntry("x", "a", datetime(2024, 1, 1), {})])
    with pytest.raises(ValueError, match="payload"):
        log.append(H, 0, [NewEntry("x", "a", T0, {"f": float("nan")})])
    with pytest.raises(ValueError, match="payload"):
        log.append(H, 0, [NewEntry("x", "a", T0, {"o": object()})])
    assert log.head(H) == (0, GENESIS)  # nothing half-written


def test_payload_round_trip_is_the_stored_canonical_json(log: EventLog) -> None:
    payload = {"z": [1, 2.5, None, True], "a": {"nested": "证人", "e": 1e21}, "t": (1, 2)}
    (e,) = log.append(H, 0, [NewEntry("x", "a", T0, payload)])
    assert e.payload == {"a": {"e": 1e21, "nested": "证人"}, "t": [1, 2], "z": [1, 2.5, None, True]}
    assert log.read(H) == [e]
    assert log.verify(H).ok


def test_hearings_are_independent(log: EventLog) -> None:
    filled(log, 3, "b")
    filled(log, 2, "a")
    assert log.hearing_ids() == ["a", "b"]
    assert log.head("a")[0] == 2 and log.head("b")[0] == 3
    assert log.verify("a").ok and log.verify("b").ok
    assert log.read("a")[0].prev_hash == GENESIS


def test_stale_expected_seq_conflicts(log: EventLog) -> None:
    log.append(H, 0, [entry(1)])
    for stale in (0, 2):
        with pytest.raises(ConcurrencyConflict) as info:
            log.append(H, stale, [entry(2)])
        assert (info.value.hearing_id, info.value.expected, info.value.actual) == (H, stale, 1)
    assert log.head(H)[0] == 1
    with pytest.raises(ValueError):
        log.append(H, -1, [entry(2)])


def test_racing_writers_never_fork(engines: Callable[[], Engine]) -> None:
    """Two writers (own engines, as two processes would have) race for the same seq."""
    logs = [EventLog(engines()), EventLog(engines())]
    rounds = 15
    for r in range(rounds):
        barrier = threading.Barrier(2, timeout=10)
        outcomes: list[str] = []

        def write(
            log: EventLog,
            r: int = r,
            b: threading.Barrier = barrier,
            outcomes: list[str] = outcomes,
        ) -> None:
            b.wait()
            try:
                log.append(H, r, [entry(r)])
                outcomes.append("ok")
            except ConcurrencyConflict as exc:
                assert exc.actual == r + 1
                outcomes.append("conflict")

        threads = [threading.Thread(target=write, args=(lg,)) for lg in logs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
            assert not t.is_alive()
        assert sorted(outcomes) == ["conflict", "ok"], outcomes
    report = logs[0].verify(H)
    assert report.ok and report.head_seq == rounds


def test_many_writers_with_retry_build_one_chain(engines: Callable[[], Engine]) -> None:
    log = EventLog(engines())
    per_writer, writers = 10, 3
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for i in range(per_writer):
                while True:
                    seq, _ = log.head(H)
                    try:
                        log.append(H, seq, [entry(w * 100 + i)])
                        break
                    except ConcurrencyConflict:
                        continue
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    assert errors == []
    entries = log.read(H)
    assert [e.seq for e in entries] == list(range(1, per_writer * writers + 1))
    assert sorted(e.payload["n"] for e in entries) == sorted(
        w * 100 + i for w in range(writers) for i in range(per_writer)
    )
    assert log.verify(H).ok


def test_restart_reads_identical_entries(engines: Callable[[], Engine]) -> None:
    first_engine = engines()
    written = filled(EventLog(first_engine), 4).read(H)
    first_engine.dispose()
    again = EventLog(engines())  # a new process: new engine, open_engine is idempotent
    assert again.read(H) == written
    report = again.verify(H)
    assert report.ok and report.checked == 4
    assert (report.head_seq, report.head_hash) == (4, written[-1].hash)
    again.append(H, 4, [entry(5)])
    assert again.verify(H).ok


def test_sqlite_creates_parent_directory_and_uses_wal(tmp_path: Any) -> None:
    path = tmp_path / "deep" / "er" / "c.db"
    engine = open_engine(f"sqlite:///{path}")
    try:
        assert path.exists()
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 1000
    finally:
        engine.dispose()


# --- append-only triggers -----------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE events SET actor = 'someone-else' WHERE seq = 2",
        "DELETE FROM events WHERE seq = 2",
        "DELETE FROM events",
        "UPDATE join_codes SET participant_id = 'p2'",
        "DELETE FROM used_credentials",
    ],
)
def test_triggers_refuse_update_and_delete(
    log: EventLog, engines: Callable[[], Engine], attacker: Engine, sql: str
) -> None:
    filled(log, 3)
    creds = CredentialStore(engines())
    creds.issue_join_code("c", H, "p1", T0 + timedelta(hours=1), issued_at=T0)
    creds.consume_credential("session", "d")
    before = log.read(H)
    with pytest.raises(DBAPIError, match="append-only"), attacker.begin() as conn:
        conn.execute(text(sql))
    assert log.read(H) == before
    assert log.verify(H).ok
    assert creds.find_join_code("c") is not None
    assert creds.consume_credential("session", "d") is False


def test_truncate_cannot_empty_the_log(log: EventLog, attacker: Engine) -> None:
    filled(log, 2)
    # PostgreSQL: the trigger refuses it. SQLite has no TRUNCATE statement at all.
    match = "append-only" if attacker.dialect.name == "postgresql" else "syntax error"
    with pytest.raises(DBAPIError, match=match), attacker.begin() as conn:
        conn.execute(text("TRUNCATE events"))
    assert log.head(H)[0] == 2


# --- tamper detection ---------------------------------------------------------------


def _one_byte(column: str, index: int) -> Callable[[str], str]:
    return lambda value: flip(value, index)


# column, how to alter its stored text (one character), expected problem for seq 3 of 5
TEXT_TAMPERS = [
    ("type", _one_byte("type", 0), "seq 3: hash mismatch (row altered)"),
    ("actor", _one_byte("actor", -1), "seq 3: hash mismatch (row altered)"),
    ("at", _one_byte("at", 25), "seq 3: hash mismatch (row altered)"),  # a microsecond digit
    ("at", lambda v: v[:-1] + "+", "seq 3: 'at' is not a stored UTC timestamp (row altered)"),
    # a character inside a string value: still valid JSON
    ("payload", lambda v: v.replace("第3", "第8"), "seq 3: hash mismatch (row altered)"),
    ("payload", lambda v: v[:-1], "seq 3: payload is not a JSON object (row altered)"),
    ("payload", lambda v: v.replace(",", ", ", 1),
     "seq 3: payload text is not the canonical JSON that was hashed"),
    ("prev_hash", _one_byte("prev_hash", 10), "seq 3: prev_hash altered"),
    ("hash", _one_byte("hash", 10), "seq 3: stored hash altered"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("column", "alter", "problem"),
    TEXT_TAMPERS,
    ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(TEXT_TAMPERS)],
)
def test_one_changed_byte_in_a_column_is_found(
    log: EventLog, attacker: Engine, column: str, alter: Callable[[str], str], problem: str
) -> None:
    filled(log)
    old = stored(attacker, 3, column)
    new = alter(old)
    assert new != old
    tamper(attacker, f"UPDATE events SET {column} = :v WHERE hearing_id = :h AND seq = 3",
           v=new, h=H)  # fmt: skip
    report = log.verify(H)
    assert not report.ok
    assert report.first_bad_seq == 3
    assert report.problem == problem
    assert report.checked == 2
    assert report.head_seq == 5


def test_altered_last_row_is_found(log: EventLog, attacker: Engine) -> None:
    filled(log)
    tamper(attacker, "UPDATE events SET actor = 'clerk' WHERE seq = 5")
    report = log.verify(H)
    assert (report.ok, report.first_bad_seq, report.problem) == (
        False, 5, "seq 5: hash mismatch (row altered)")  # fmt: skip


def test_altered_seq_is_found(log: EventLog, attacker: Engine) -> None:
    filled(log)
    tamper(attacker, "UPDATE events SET seq = 13 WHERE seq = 3")  # "3" -> "13"
    report = log.verify(H)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert report.problem == "seq 3: its entry is stored as seq 13 (seq altered)"


def test_altered_hearing_id_is_found(log: EventLog, attacker: Engine) -> None:
    filled(log)
    filled(log, 2, "other")
    tamper(attacker, "UPDATE events SET hearing_id = 'other' WHERE hearing_id = :h AND seq = 3",
           h=H)  # fmt: skip
    report = log.verify(H)
    assert (report.ok, report.first_bad_seq, report.problem) == (
        False, 3, "seq 3 missing (deleted)")  # fmt: skip
    other = log.verify("other")
    assert (other.ok, other.first_bad_seq) == (False, 3)


def test_deleted_middle_row_is_found(log: EventLog, attacker: Engine) -> None:
    filled(log)
    tamper(attacker, "DELETE FROM events WHERE seq = 3")
    report = log.verify(H)
    assert (report.ok, report.first_bad_seq, report.problem) == (
        False, 3, "seq 3 missing (deleted)")  # fmt: skip


def test_deleted_rows_are_reported_as_a_range(log: EventLog, attacker: Engine) -> None:
    filled(log)
    tamper(attacker, "DELETE FROM events WHERE seq IN (2, 3)")
    assert log.verify(H).problem == "seqs 2-3 missing (deleted)"


def test_deleted_last_row_needs_an_anchored_head(log: EventLog, attacker: Engine) -> None:
    """The chain alone cannot tell a truncated log from a shorter one: the head anchored
    elsewhere (the sealed record's manifest) is what catches it."""
    anchor = filled(log).head(H)
    tamper(attacker, "DELETE FROM events WHERE seq = 5")
    assert log.verify(H).ok  # documented limitation without an anchor
    report = log.verify(H, anchor=anchor)
    assert (report.ok, report.first_bad_seq, report.head_seq) == (False, 5, 4)
    assert report.problem == (
        "seq 5 missing: the log ends at seq 4 but the anchored head is seq 5 "
        "(rows deleted from the end)"
    )


def test_anchor_allows_later_appends(log: EventLog) -> None:
    anchor = filled(log, 3).head(H)
    log.append(H, 3, [entry(4)])
    assert log.verify(H, anchor=anchor).ok


def test_swapped_rows_are_found(log: EventLog, attacker: Engine) -> None:
    filled(log)
    drop_triggers(attacker)
    with attacker.begin() as conn:  # renumber 3 -> 99, 4 -> 3, 99 -> 4
        for old, new in ((3, 99), (4, 3), (99, 4)):
            conn.execute(text("UPDATE events SET seq = :n WHERE seq = :o"), {"n": new, "o": old})
    report = log.verify(H)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert report.problem == "seq 3: holds the entry hashed as seq 4 (rows swapped or reordered)"


def test_row_rewritten_with_recomputed_hash_breaks_the_next_link(
    log: EventLog, attacker: Engine
) -> None:
    from courtroom.store import entry_hash

    filled(log)
    e = log.read(H)[2]
    forged = entry_hash(hearing_id=H, seq=3, type=e.type, actor="forger",
                        at=stored(attacker, 3, "at"), payload=e.payload, prev_hash=e.prev_hash)  # fmt: skip
    tamper(attacker, "UPDATE events SET actor = 'forger', hash = :f WHERE seq = 3", f=forged)
    report = log.verify(H)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert report.problem is not None
    assert report.problem.startswith("seq 4: prev_hash does not match the hash of seq 3")


def test_rewritten_tail_needs_an_anchored_head(log: EventLog, attacker: Engine) -> None:
    """Someone who recomputes every hash after their change leaves a self-consistent
    chain; only the anchored head shows it."""
    anchor = filled(log, 3).head(H)
    rows = log.read(H)
    tamper(attacker, "DELETE FROM events WHERE seq = 3")
    forger = EventLog(attacker)  # the attacker runs our code against the same database
    forger.append(H, 2, [NewEntry(rows[2].type, "forger", rows[2].at, rows[2].payload)])
    assert log.verify(H).ok
    report = log.verify(H, anchor=anchor)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert report.problem == "seq 3: hash differs from the anchored head (log rewritten)"


# --- credentials --------------------------------------------------------------------


def test_credential_is_consumed_once_across_instances(engines: Callable[[], Engine]) -> None:
    a, b = CredentialStore(engines()), CredentialStore(engines())
    assert a.consume_credential("session", "digest-1") is True
    assert b.consume_credential("session", "digest-1") is False
    assert a.consume_credential("session", "digest-1") is False
    assert b.consume_credential("session", "digest-2") is True


def test_racing_consumers_get_one_true(engines: Callable[[], Engine]) -> None:
    stores = [CredentialStore(engines()) for _ in range(3)]
    for round_ in range(5):
        barrier = threading.Barrier(len(stores), timeout=10)
        results: list[bool] = []

        def consume(
            s: CredentialStore,
            r: int = round_,
            b: threading.Barrier = barrier,
            results: list[bool] = results,
        ) -> None:
            b.wait()
            results.append(s.consume_credential("join", f"d{r}"))

        threads = [threading.Thread(target=consume, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
            assert not t.is_alive()
        assert sorted(results) == [False, False, True]


def test_join_codes(engines: Callable[[], Engine]) -> None:
    creds = CredentialStore(engines())
    assert creds.find_join_code("nope") is None
    assert creds.latest_join_code(H, "p1") is None
    expires = T0 + timedelta(minutes=15)
    first = creds.issue_join_code("h1", H, "p1", expires, issued_at=T0)
    second = creds.issue_join_code("h2", H, "p1", expires + timedelta(minutes=5),
                                   issued_at=T0 + timedelta(minutes=5))  # fmt: skip
    creds.issue_join_code("h3", H, "p2", expires, issued_at=T0 + timedelta(minutes=9))
    creds.issue_join_code("h4", "other", "p1", expires, issued_at=T0 + timedelta(minutes=9))
    other = CredentialStore(engines())  # another node sees the same codes
    assert other.find_join_code("h1") == first
    assert first.issued_at == T0 and first.expires_at == expires
    assert other.latest_join_code(H, "p1") == second
    assert not first.expired(T0 + timedelta(minutes=14))
    assert first.expired(expires)
    with pytest.raises(DuplicateJoinCode):
        other.issue_join_code("h1", H, "p9", expires)
    assert creds.find_join_code("h1") == first
