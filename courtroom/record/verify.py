"""Offline verification of a sealed hearing record: ``verify_record`` and ``main_verify``.

Every check is reported by name with ``ok``, ``failed``, ``warning``, ``skipped`` (an
input was not given) or ``not applicable``; the record is valid when nothing failed. The
checks live in ``courtroom.record.verification`` (one module per concept):

1. ``pades.*``            each PDF signature intact, trusted, DocMDP respected, with a
                          trusted RFC 3161 timestamp; the /Contents padding is zeros; the
                          last signature covers the entire file.
2. ``manifest.*``         the rendered prefix and every attachment hash to the manifest.
3. ``record.*``           the document hash; record.json is byte for byte the document
                          rebuilt from the attached audit log with the server's freeze code.
4. ``signature.*``        each signature verifies with the key of its participant's
                          ``signing_key_registered`` event and is a ``document_signed``
                          event; ``signatures.log``: every logged signature and refusal is
                          in record.json; ``signatures.expected``: who did not answer.
5. ``audit.*``            the chain from seq 1, the document's head and the sealed head.
6. ``transcript.audit``   line by line against the log.
7. ``timestamp.*``        genTime not before the close and within the bound; the TSA.
8. ``pages``              each sealed page shows record.json's text, visibly;
                          ``pages.full`` (opt-in) re-renders and compares the bytes.
9. ``recordings``         with a directory: each file's size and SHA-256.
10. ``receipt.*`` / ``transparency.*`` with a participant's receipt or a tree head.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import x509

from courtroom.record.document import (
    AuditEntry,
    RecordDocument,
    RecordFormatError,
    document_hash,
    from_json,
)
from courtroom.record.hearing_log import transcript_from_log as _transcript_from_log
from courtroom.record.seal import AUDIT_LOG, RECORD_JSON
from courtroom.record.signatures import ParticipantSignature, SignatureRefusal
from courtroom.record.verification import reconcile
from courtroom.record.verification.audit import (
    TranscriptFromLog,
    check_audit,
    check_transcript,
    parse_log,
    verify_chain,
)
from courtroom.record.verification.exhibits import check_exhibits
from courtroom.record.verification.manifest import check_manifest
from courtroom.record.verification.pages import check_pages, check_pages_full
from courtroom.record.verification.pdf_checks import PdfFindings, check_pdf, embedded_files
from courtroom.record.verification.recordings import check_recordings
from courtroom.record.verification.report import (
    Check,
    Status,
    VerificationReport,
    render_report,
)
from courtroom.record.verification.seal_time import check_seal_time

__all__ = [
    "Check",
    "LoadedRecord",
    "Status",
    "VerificationReport",
    "embedded_files",
    "main_verify",
    "render_report",
    "verify_chain",
    "verify_record",
]


@dataclass(frozen=True)
class LoadedRecord:
    """record.json, read."""

    doc: RecordDocument
    signatures: list[ParticipantSignature]
    refusals: list[SignatureRefusal]
    claimed_hash: str


def load_record(files: Mapping[str, bytes], report: VerificationReport) -> LoadedRecord | None:
    raw = files.get(RECORD_JSON)
    if raw is None:
        report.fail("record", f"{RECORD_JSON} is not attached")
        return None
    try:
        obj = json.loads(raw)
        return LoadedRecord(
            from_json(obj["document"]),
            [ParticipantSignature.from_json(s) for s in obj["signatures"]],
            [SignatureRefusal.from_json(r) for r in obj["refusals"]],
            str(obj["document_hash"]),
        )
    except (ValueError, KeyError, TypeError, RecordFormatError) as exc:
        report.fail("record", f"{RECORD_JSON} unreadable: {exc}")
        return None


def _check_hash(
    rec: LoadedRecord, manifest: Mapping[str, Any] | None, report: VerificationReport
) -> str:
    doc_hash = document_hash(rec.doc)
    want = {rec.claimed_hash, manifest.get("document_hash") if manifest else rec.claimed_hash}
    if want == {doc_hash}:
        report.add("record.document_hash", "ok", f"document SHA-256 {doc_hash}")
    else:
        report.fail(
            "record.document_hash",
            "the recomputed document hash differs from the one recorded at sealing",
        )
    return doc_hash


def _facts(rec: LoadedRecord, found: PdfFindings, trust_root: x509.Certificate) -> dict[str, Any]:
    """What the report shows beside the checks: who signed, who refused, the TSA."""
    people = {p.participant_id: p for p in rec.doc.participants}

    def who(pid: str) -> dict[str, str]:
        p = people.get(pid)
        return {"id": pid, "name": p.display_name if p else pid, "role": p.role if p else "?"}

    m = rec.doc.meta
    return {
        "case": {"title": m.title, "case_number": m.case_number, "court": m.court,
                 "opened_at": m.opened_at, "closed_at": m.closed_at},
        "document_hash": rec.claimed_hash,
        "signers": [{**who(s.participant_id), "purpose": s.purpose, "at": s.signed_at}
                    for s in rec.signatures],
        "refusals": [{**who(r.participant_id), "purpose": r.purpose, "at": r.at,
                      "reason": r.reason} for r in rec.refusals],
        "timestamps": [{"field": t.field, "gen_time": t.gen_time.isoformat(), "tsa": t.tsa,
                        "policy": t.policy} for t in found.timestamps],
        "trust_root": str(trust_root.subject.human_friendly),
    }  # fmt: skip


def _reconcile(
    rec: LoadedRecord,
    doc_hash: str,
    entries: Sequence[AuditEntry],
    files: Mapping[str, bytes],
    report: VerificationReport,
) -> None:
    logged = reconcile.read_log(entries)
    frozen = reconcile.check_rebuilt(rec.doc, doc_hash, entries, report)
    reconcile.check_signatures(rec.doc, doc_hash, rec.signatures, entries, logged, files, report)
    if frozen is not None:
        reconcile.check_log_answers(frozen, rec.signatures, rec.refusals, logged, report)
        reconcile.check_expected(frozen, logged, report)
    reconcile.summarise(rec.signatures, rec.refusals, report)


def _entries(files: Mapping[str, bytes], report: VerificationReport) -> list[AuditEntry] | None:
    raw_log = files.get(AUDIT_LOG)
    if raw_log is None:
        report.fail("audit.chain", f"{AUDIT_LOG} is not attached")
        return None
    return parse_log(raw_log, report)


@dataclass(frozen=True)
class Anchors:
    """What the verifier holds from outside the court: receipts, a transparency proof."""

    receipts: Sequence[Mapping[str, Any]] = ()
    tree_head: Mapping[str, Any] | None = None


def _check_anchors(
    pdf: bytes,
    rec: LoadedRecord,
    entries: Sequence[AuditEntry],
    anchors: Anchors,
    trust_root: x509.Certificate,
    report: VerificationReport,
) -> None:
    from courtroom.record import receipts, transparency

    for receipt in anchors.receipts:
        receipts.check_receipt(receipt, trust_root, rec.doc, rec.signatures, entries, report)
    if anchors.tree_head is not None:
        transparency.check_inclusion(anchors.tree_head, pdf, rec.doc, entries, trust_root, report)


def verify_record(
    pdf_bytes: bytes,
    *,
    trust_root: x509.Certificate,
    recordings_dir: Path | str | None = None,
    transcript_from_log: TranscriptFromLog = _transcript_from_log,
    source: str = "",
    anchors: Anchors | None = None,
    pages: bool = True,
    full_pages: bool = False,
    at: dt.datetime | None = None,
) -> VerificationReport:
    """Run every check offline, at ``at`` (default now). Blocking (pyHanko): use
    ``asyncio.to_thread`` in a server."""
    with _gc_paused():
        return _verify(pdf_bytes, trust_root, recordings_dir, transcript_from_log, source,
                       anchors, pages, full_pages, at)  # fmt: skip


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic collections during one verification: it allocates little that is
    cyclic, but full collections over the heap (the parsed font's tables, pyHanko's
    objects) cost 0.1-0.2 s at 2,000 lines. Reference counting still frees as usual."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _verify(
    pdf_bytes: bytes,
    trust_root: x509.Certificate,
    recordings_dir: Path | str | None,
    transcript_from_log: TranscriptFromLog,
    source: str,
    anchors: Anchors | None,
    pages: bool,
    full_pages: bool,
    at: dt.datetime | None,
) -> VerificationReport:
    report = VerificationReport(source=source)
    found: PdfFindings | None = check_pdf(pdf_bytes, trust_root, report, at)
    if found is None:
        return report
    files = found.attachments
    manifest = check_manifest(pdf_bytes, files, report)
    rec = load_record(files, report)
    if rec is None:
        return report
    report.facts.update(_facts(rec, found, trust_root))
    doc_hash = _check_hash(rec, manifest, report)
    entries = _entries(files, report)
    if entries is not None:
        check_audit(rec.doc, entries, manifest, report)
        check_transcript(rec.doc, entries, transcript_from_log, report)
        _reconcile(rec, doc_hash, entries, files, report)
        check_exhibits(rec.doc, entries, manifest, report)
    check_seal_time(rec.doc, found.timestamps, report)
    if pages:
        strokes = [data for name, data in files.items() if name.startswith("stroke-")]
        check_pages(pdf_bytes, manifest, rec.doc, rec.signatures, rec.refusals, report, strokes)
    if full_pages:
        args = (pdf_bytes, manifest, rec.doc, rec.signatures, rec.refusals, files, report)
        check_pages_full(*args)
    check_recordings(rec.doc, Path(recordings_dir) if recordings_dir is not None else None, report)
    if anchors is not None and entries is not None:
        _check_anchors(pdf_bytes, rec, entries, anchors, trust_root, report)
    return report


def main_verify(argv: Sequence[str] | None = None) -> int:
    """``courtroom verify``: see ``courtroom.record.verify_cli``."""
    from courtroom.record.verify_cli import main

    return main(argv)


if __name__ == "__main__":
    raise SystemExit(main_verify())
