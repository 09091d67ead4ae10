"""verify_chain as a pure function over stored rows (no database)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from courtroom.store import GENESIS, StoredEntry, entry_hash, verify_chain

H = "h"


def chain(n: int, hearing_id: str = H) -> list[StoredEntry]:
    rows: list[StoredEntry] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        payload: dict[str, Any] = {"n": seq, "words": ["甲", "乙"], "ok": seq % 2 == 0}
        at = f"2024-05-01T09:30:{seq:02d}.000001Z"
        digest = entry_hash(hearing_id=hearing_id, seq=seq, type="t", actor="a", at=at,
                            payload=payload, prev_hash=prev)  # fmt: skip
        rows.append(StoredEntry(hearing_id, seq, "t", "a", at, rfc8785.dumps(payload).decode(),
                                prev, digest))  # fmt: skip
        prev = digest
    return rows


def test_intact_chain_any_order() -> None:
    rows = chain(6)
    report = verify_chain(H, list(reversed(rows)))
    assert report.ok and report.checked == 6
    assert (report.head_seq, report.head_hash) == (6, rows[-1].hash)
    assert verify_chain(H, rows, anchor=(6, rows[-1].hash)).ok
    assert verify_chain(H, rows, anchor=(2, rows[1].hash)).ok


def test_empty_chain_and_anchors() -> None:
    assert verify_chain(H, []).ok
    assert verify_chain(H, [], anchor=(0, GENESIS)).ok
    report = verify_chain(H, [], anchor=(2, "x" * 64))
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert report.problem is not None and report.problem.startswith("seqs 1-2 missing")
    bad = verify_chain(H, chain(2), anchor=(1, "0" * 63 + "1"))
    assert (bad.ok, bad.first_bad_seq) == (False, 1)


def test_seq_renumbered_below_one() -> None:
    rows = chain(3)
    report = verify_chain(H, [replace(rows[0], seq=0), *rows[1:]])
    assert report.problem == "seq 1: its entry is stored as seq 0 (seq altered)"


def test_row_from_another_hearing_does_not_verify() -> None:
    rows = chain(3)
    assert verify_chain("other", rows).first_bad_seq == 1


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 6),
    data=st.data(),
)
def test_any_single_character_change_is_found_at_its_row(n: int, data: st.DataObject) -> None:
    rows = chain(n)
    k = data.draw(st.integers(1, n), label="row")
    column = data.draw(st.sampled_from(["type", "actor", "at", "payload", "prev_hash", "hash"]))
    old: str = getattr(rows[k - 1], column)
    i = data.draw(st.integers(0, len(old) - 1), label="index")
    char = data.draw(st.characters(codec="utf-8").filter(lambda c: c != old[i]), label="char")
    changed: dict[str, Any] = {column: old[:i] + char + old[i + 1 :]}
    rows[k - 1] = replace(rows[k - 1], **changed)
    report = verify_chain(H, rows)
    assert not report.ok
    assert report.first_bad_seq == k, report.problem
    assert report.problem is not None and report.problem.startswith(f"seq {k}")
