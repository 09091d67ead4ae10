"""The canonical record: JSON round trip, RFC 8785 bytes, hashes, the fast hash path."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from courtroom.record.document import (
    AuditEntry,
    RecordFormatError,
    canonical_bytes,
    canonical_json,
    document_hash,
    from_json,
    to_json,
)
from courtroom.record.sample import CASE_NUMBER, OPENING_LINE, SampleHearing, build_sample
from courtroom.store.chain import GENESIS, entry_hash


@pytest.fixture(scope="module")
def sample() -> SampleHearing:
    return build_sample(8)


def test_round_trip_and_stable_bytes(sample: SampleHearing) -> None:
    doc = sample.doc
    assert from_json(json.loads(canonical_bytes(doc))) == doc
    assert canonical_bytes(doc) == bytes(rfc8785.dumps(to_json(doc)))
    assert document_hash(doc) == hashlib.sha256(canonical_bytes(doc)).hexdigest()
    text = canonical_bytes(doc).decode("utf-8")
    assert OPENING_LINE in text and CASE_NUMBER in text  # UTF-8, not \\u escapes


def test_any_change_changes_the_hash(sample: SampleHearing) -> None:
    doc = sample.doc
    line = dataclasses.replace(doc.transcript[2], text=doc.transcript[2].text + "。")
    changed = dataclasses.replace(doc, transcript=(*doc.transcript[:2], line, *doc.transcript[3:]))
    assert document_hash(changed) != document_hash(doc)


def test_from_json_rejects_bad_shapes(sample: SampleHearing) -> None:
    obj = to_json(sample.doc)
    obj["transcript"][0]["t0_ms"] = True  # a bool is not an integer here
    with pytest.raises(RecordFormatError):
        from_json(obj)
    with pytest.raises(RecordFormatError):
        from_json({**to_json(sample.doc), "format": "other/9"})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_canonical_json_is_rfc8785(obj: object) -> None:
    try:
        expected = bytes(rfc8785.dumps(obj))  # type: ignore[arg-type]
    except rfc8785.CanonicalizationError:
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical_json(obj)
        return
    assert canonical_json(obj) == expected


def test_canonical_json_edge_cases() -> None:
    cases: list[object] = [
        {"b": 1, "a": "审判长", "c": [True, None, 'x\n\u001f\u007f"\\\u2028']},
        {"f": 1e-7, "g": 0.5, "h": 1e21, "i": -0.0},
        {"\U0001f600": 1, "\ue000": 2},
        [2**53 - 1, -(2**53) + 1],
    ]
    for obj in cases:
        assert canonical_json(obj) == bytes(rfc8785.dumps(obj))  # type: ignore[arg-type]
    assert canonical_json({"f": 1e-7}) == b'{"f":1e-7}'
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({"lone": "\ud800"})
    # JCS orders keys by UTF-16 code units: the astral key sorts before U+E000.
    assert list(json.loads(canonical_json({"\ue000": 2, "\U0001f600": 1}))) == [
        "\U0001f600",
        "\ue000",
    ]


def test_audit_entry_hash_matches_store_function(sample: SampleHearing) -> None:
    e: AuditEntry = sample.entries[0]
    assert e.prev_hash == GENESIS
    assert e.hash == entry_hash(
        hearing_id=e.hearing_id,
        seq=e.seq,
        type=e.type,
        actor=e.actor,
        at=e.at,
        payload=e.payload,
        prev_hash=e.prev_hash,
    )
    assert e.hash_matches()
    assert not dataclasses.replace(e, actor="someone-else").hash_matches()
    assert AuditEntry.from_json(e.to_json()) == e
