"""Freezing the record from a hearing's log: what is in it, what changes it, what does not."""

from __future__ import annotations

import dataclasses
import json

import rfc8785

from courtroom.domain import events as ev
from courtroom.domain.codec import to_json
from courtroom.domain.phases import Phase
from courtroom.domain.presence import Presence, Reason
from courtroom.domain.roles import Role
from courtroom.domain.routing import MediaKind
from courtroom.record.document import (
    AuditEntry,
    TranscriptGap,
    from_json,
    oath_hash,
    transcript_in_time_order,
)
from courtroom.record.document import (
    to_json as doc_json,
)
from courtroom.record.hearing_log import (
    answers,
    compare_with_database,
    compare_with_seal,
    freeze,
    oath_statement,
    render_text,
    sealed_revision,
    transcript_from_log,
)
from courtroom.record.verify import verify_chain
from courtroom.store.chain import GENESIS, entry_hash
from courtroom.store.verify import StoredEntry

HID = "h-test"


class Log:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def add(self, event: ev.Event, actor: str = "server") -> AuditEntry:
        seq = len(self.entries) + 1
        prev = self.entries[-1].hash if self.entries else GENESIS
        at = f"2026-11-23T09:{seq // 60:02d}:{seq % 60:02d}.000000Z"
        payload = json.loads(json.dumps(to_json(event)))
        h = entry_hash(
            hearing_id=HID,
            seq=seq,
            type=event.TYPE,
            actor=actor,
            at=at,
            payload=payload,
            prev_hash=prev,
        )
        entry = AuditEntry(HID, seq, event.TYPE, actor, at, payload, prev, h)
        self.entries.append(entry)
        return entry


def hearing() -> Log:
    log = Log()
    log.add(
        ev.HearingScheduled(
            "(2026)京0105民初1号", "借贷", "朝阳法院", "zh", "2026-11-23T09:00:00+08:00"
        )
    )
    for pid, role, name in [
        ("p-j", Role.JUDGE, "审判长 张明"),
        ("p-p", Role.PLAINTIFF, "原告 王芳"),
        ("p-w", Role.WITNESS, "证人 陈静"),
    ]:
        log.add(ev.ParticipantInvited(pid, role, name))
        log.add(ev.SigningKeyRegistered(pid, f'{{"kty":"EC","x":"{pid}"}}'), pid)
    log.add(ev.PhaseChanged(Phase.OPENING, Phase.SCHEDULED, "opened"), "p-j")
    log.add(ev.PresenceChanged("p-w", Presence.WAITING_ROOM, Reason.ADMITTED), "p-j")
    oath = oath_statement(HID, log.entries, "p-w")
    assert oath is not None
    log.add(ev.DocumentSigned("p-w", "oath", oath_hash(HID, oath), "sig", "cd" * 32), "p-w")
    log.add(ev.TranscriptLineRecorded("l1", "p-j", "现在开庭。", 1.0, 2.5, (), "m"))
    log.add(ev.TranscriptLineRecorded("l2", "p-p", "借款十万圆。", 3.0, 4.0, (), "m"))
    log.add(ev.TranscriptLineCorrected("l2", "借款十万元。"), "p-j")
    return log


def close(log: Log) -> AuditEntry:
    return log.add(ev.PhaseChanged(Phase.CLOSED, Phase.OPENING, "closed"), "p-j")


def test_no_record_before_the_close() -> None:
    assert freeze(HID, hearing().entries) is None


def test_frozen_document_from_the_log() -> None:
    log = hearing()
    closed = close(log)
    frozen = freeze(HID, log.entries)
    assert frozen is not None
    doc = frozen.document
    assert (doc.audit_head.seq, doc.audit_head.hash) == (closed.seq, closed.hash)
    assert doc.meta.closed_at == closed.at and doc.meta.opened_at < closed.at
    assert [p.role for p in doc.participants] == ["judge", "plaintiff", "witness"]
    assert all(p.public_key for p in doc.participants)
    l1, l2 = doc.transcript
    assert (l1.speaker_name, l1.t0_ms, l1.t1_ms, l1.corrected) == ("审判长 张明", 1000, 2500, False)
    assert (l2.text, l2.corrected, l2.original_text) == ("借款十万元。", True, "借款十万圆。")
    assert transcript_from_log(log.entries) == doc.transcript
    (oath,) = doc.oaths
    assert oath == oath_statement(HID, log.entries, "p-w")
    assert "如实陈述" in oath.text and "truth" in oath.text


def test_signatures_after_the_close_do_not_change_it_but_a_reopen_does() -> None:
    log = hearing()
    close(log)
    first = freeze(HID, log.entries)
    assert first is not None
    log.add(ev.DocumentSigned("p-p", "record", first.hash, "sig", "ee" * 32), "p-p")
    log.add(ev.SigningRefused("p-j", "record", "不同意"), "p-j")
    again = freeze(HID, log.entries)
    assert again is not None and again.hash == first.hash
    got = answers(again, log.entries)
    assert [(s.participant_id, s.purpose) for s in got.signatures] == [
        ("p-w", "oath"),
        ("p-p", "record"),
    ]
    assert [r.participant_id for r in got.refusals] == ["p-j"] and not got.superseded

    log.add(ev.PhaseChanged(Phase.OPENING, Phase.CLOSED, "reopened: 补充质证"), "p-j")
    log.add(ev.TranscriptLineRecorded("l3", "p-p", "补充一句。", 5.0, 6.0, (), "m"))
    close(log)
    second = freeze(HID, log.entries)
    assert second is not None and second.hash != first.hash
    later = answers(second, log.entries)
    assert [(s.participant_id, s.purpose) for s in later.signatures] == [("p-w", "oath")]
    assert [e.type for e in later.superseded] == ["document_signed", "signing_refused"]


def test_an_oath_signature_over_another_hash_is_left_out() -> None:
    log = hearing()
    log.add(ev.DocumentSigned("p-p", "oath", "ab" * 32, "sig", "cd" * 32), "p-p")
    close(log)
    frozen = freeze(HID, log.entries)
    assert frozen is not None
    got = answers(frozen, log.entries)
    assert [s.participant_id for s in got.signatures] == ["p-w"]
    assert [e.actor for e in got.superseded] == ["p-p"]  # a plaintiff swears no oath


def _rows(entries: list[AuditEntry]) -> list[StoredEntry]:
    return [
        StoredEntry(
            e.hearing_id,
            e.seq,
            e.type,
            e.actor,
            e.at,
            rfc8785.dumps(dict(e.payload)).decode(),
            e.prev_hash,
            e.hash,
        )
        for e in entries
    ]


def test_database_comparison_finds_a_changed_row() -> None:
    log = hearing()
    close(log)
    assert verify_chain(log.entries, HID) == []
    rows = _rows(log.entries)
    assert all(c.ok for c in compare_with_database(HID, log.entries, rows))
    victim = next(i for i, r in enumerate(rows) if r.type == "transcript_line")
    rows[victim] = dataclasses.replace(
        rows[victim], payload=rows[victim].payload.replace("开庭", "休庭")
    )
    chain, sealed = compare_with_database(HID, log.entries, rows)
    assert not chain.ok and f"seq {victim + 1}" in chain.message
    assert not sealed.ok
    assert (
        f"seq {victim + 1} (transcript_line) differs" in sealed.message
        and "(payload)" in sealed.message
    )
    deleted = compare_with_database(HID, log.entries, _rows(log.entries)[:-1])
    assert not deleted[0].ok and "deleted from the end" in deleted[0].message


def test_audio_gaps_are_frozen_into_the_transcript_and_rebuilt_alike() -> None:
    base = hearing()
    close(base)
    plain = freeze(HID, base.entries)
    log = hearing()
    log.add(ev.MediaGap("p-p", MediaKind.AUDIO, 2.0, 5.0))
    log.add(ev.MediaGap("p-p", MediaKind.VIDEO, 6.0, 9.0))  # not a transcript matter
    close(log)
    frozen = freeze(HID, log.entries)
    assert frozen is not None and plain is not None
    doc = frozen.document
    assert doc.transcript_gaps == (TranscriptGap("p-p", "原告 王芳", 2000, 5000),)
    # Between l1 (1.0 s) and l2 (3.0 s), and shown in both languages.
    order = [getattr(x, "line_id", "gap") for x in transcript_in_time_order(doc)]
    assert order == ["l1", "gap", "l2"]
    text = render_text(doc, frozen.hash)
    assert "  [00:00:01] 审判长 张明: 现在开庭。\n  [00:00:02] 〔无音频 no audio〕 原告 王芳 2.0–5.0 s\n" in text
    # record.json carries them and reads back; the verifier's rebuild gives the same bytes.
    body = doc_json(doc)
    assert body["transcript_gaps"] == [
        {"speaker_id": "p-p", "speaker_name": "原告 王芳", "t0_ms": 2000, "t1_ms": 5000}
    ]
    assert from_json(json.loads(json.dumps(body))) == doc
    again = freeze(HID, log.entries)
    assert again is not None and again.hash == frozen.hash
    # A record without gaps has no such member, so its bytes (and hash) are as before.
    assert "transcript_gaps" not in doc_json(plain.document)


# ---- the server's verify: an uploaded file against the logged sealed_sha256 -------------


def _sealed_rows(pdf: bytes, doc_hash: str) -> list[StoredEntry]:
    import hashlib

    payload = json.dumps({"sealed_sha256": hashlib.sha256(pdf).hexdigest(), "document_hash": doc_hash})
    return [StoredEntry("h-1", 9, ev.RecordSealed.TYPE, "p-judge", "t", payload, "0" * 64, "1" * 64)]


SEALED = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
RENEWAL = b"2 0 obj\n<</Type/DocTimeStamp>>\nendobj\n%%EOF\n"


def test_the_sealed_file_itself_is_the_logged_one() -> None:
    assert sealed_revision(SEALED, hashlib_hex(SEALED)) == 0
    got = compare_with_seal(_sealed_rows(SEALED, "d" * 64), SEALED, "d" * 64)
    assert got.ok and "later revision" not in got.message


def test_an_archive_renewed_file_is_the_sealed_one_plus_later_revisions() -> None:
    renewed = SEALED + RENEWAL + RENEWAL
    assert sealed_revision(renewed, hashlib_hex(SEALED)) == 2
    got = compare_with_seal(_sealed_rows(SEALED, "d" * 64), renewed, "d" * 64)
    assert got.ok and "plus 2 later revision(s)" in got.message


def test_a_changed_or_extended_file_is_not_the_sealed_one() -> None:
    rows = _sealed_rows(SEALED, "d" * 64)
    changed = SEALED.replace(b"<<>>", b"<<1>>")
    for pdf in (changed, changed + RENEWAL, SEALED + b"trailing bytes, no revision", b""):
        got = compare_with_seal(rows, pdf, "d" * 64)
        assert not got.ok and "not the file the court sealed" in got.message, pdf
    # the sealed bytes with another document hash inside are refused too
    assert not compare_with_seal(rows, SEALED + RENEWAL, "e" * 64).ok


def hashlib_hex(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
