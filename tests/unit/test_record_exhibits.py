"""Exhibits in the record: rebuilt from log entries, JSON round trip, and the verifier's
check of listed hashes against the log and the manifest."""

from __future__ import annotations

from dataclasses import replace

from courtroom.record.document import AuditEntry, from_json, to_json
from courtroom.record.exhibits import exhibits_from_log, manifest_listing, text_lines
from courtroom.record.sample import build_sample
from courtroom.record.verification.exhibits import check_exhibits
from courtroom.record.verification.report import VerificationReport

SHA = "ab" * 32


def entry(seq: int, type_: str, actor: str, **payload: object) -> AuditEntry:
    return AuditEntry("h1", seq, type_, actor, f"2026-11-23T09:{seq:02d}:00+00:00", payload, "0" * 64, "0" * 64)


LOG = [
    entry(1, "exhibit_submitted", "law", exhibit_id="ex-" + SHA[:16], label="被告证据1", side="defendant",
          participant="law", sha256=SHA, media_type="application/pdf", pages=3, size=1234, filename="转账记录.pdf"),
    entry(2, "exhibit_presented", "judge", exhibit_id="ex-" + SHA[:16], page=1, presenter="judge"),
    entry(3, "exhibit_page_turned", "judge", exhibit_id="ex-" + SHA[:16], page=3),
    entry(4, "exhibit_presentation_ended", "judge", exhibit_id="ex-" + SHA[:16]),
    entry(5, "exhibit_presented", "law", exhibit_id="ex-" + SHA[:16], page=2, presenter="law"),
]


def test_exhibits_are_rebuilt_from_the_log_with_each_presentation() -> None:
    (x,) = exhibits_from_log(LOG)
    assert (x.label, x.sha256, x.submitted_by, x.bytes) == ("被告证据1", SHA, "law", 1234)
    assert [(s.presenter, s.pages) for s in x.presentations] == [("judge", (1, 3)), ("law", (2,))]
    lines = text_lines((x,), {"law": "赵律师", "judge": "王审判长"})
    assert "被告证据1 转账记录.pdf" in lines[2] and SHA in lines[3] and "王审判长" in lines[3]


def test_the_record_round_trips_and_a_record_without_exhibits_keeps_its_bytes() -> None:
    doc = build_sample(2).doc
    assert "exhibits" not in to_json(doc)
    with_them = replace(doc, exhibits=exhibits_from_log(LOG))
    assert from_json(to_json(with_them)) == with_them


def test_verify_names_a_listed_hash_the_log_does_not_vouch_for() -> None:
    doc = replace(build_sample(2).doc, exhibits=exhibits_from_log(LOG))
    manifest = {"exhibits": manifest_listing(doc.exhibits)}
    report = VerificationReport(source="test")
    check_exhibits(doc, LOG, manifest, report)
    assert report.ok, report.failures
    forged = replace(doc, exhibits=(replace(doc.exhibits[0], sha256="cd" * 32),))
    report = VerificationReport(source="test")
    check_exhibits(forged, LOG, {"exhibits": manifest_listing(forged.exhibits)}, report)
    assert [c.name for c in report.failures] == ["exhibits.log"]
    report = VerificationReport(source="test")
    check_exhibits(doc, LOG, {"exhibits": []}, report)
    assert [c.name for c in report.failures] == ["exhibits.manifest"]
    report = VerificationReport(source="test")
    check_exhibits(replace(doc, exhibits=()), LOG, None, report)  # dropped from the record
    assert "exhibits.log" in [c.name for c in report.failures]


def test_the_record_lists_the_number_the_clerk_gave_last() -> None:
    renumbered = [*LOG, entry(6, "exhibit_numbered", "clerk", exhibit_id="ex-" + SHA[:16], label="被告证据4",
                              previous="被告证据1", by="clerk")]
    (x,) = exhibits_from_log(renumbered)
    assert x.label == "被告证据4" and x.sha256 == SHA and len(x.presentations) == 2
