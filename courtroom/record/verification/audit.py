"""The audit log carried in the record: its chain, its heads, its transcript."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from courtroom.record.document import AuditEntry, RecordDocument, RecordFormatError, TranscriptLine
from courtroom.record.seal import AUDIT_LOG
from courtroom.record.verification.report import VerificationReport, first_few
from courtroom.store.chain import GENESIS

TranscriptFromLog = Callable[[Sequence[AuditEntry]], tuple[TranscriptLine, ...] | None]
_LINE_FIELDS = (
    "speaker_id",
    "speaker_name",
    "t0_ms",
    "t1_ms",
    "text",
    "corrected",
    "original_text",
)


def parse_log(raw: bytes, report: VerificationReport) -> list[AuditEntry] | None:
    entries = []
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(AuditEntry.from_json(json.loads(line)))
        except (ValueError, RecordFormatError) as exc:
            report.fail("audit.chain", f"{AUDIT_LOG} line {n} unreadable: {exc}")
            return None
    return entries


def _gap(expected_seq: int, seq: int) -> str:
    if seq > expected_seq:
        missing = (
            f"seq {expected_seq}" if seq == expected_seq + 1 else f"seq {expected_seq}-{seq - 1}"
        )
        return f"event {missing} missing (deleted from the chain)"
    return f"seq {seq} out of order or duplicated"


def verify_chain(entries: Sequence[AuditEntry], hearing_id: str) -> list[str]:
    """Problems with the hash chain, in order; empty when it verifies from seq 1."""
    problems: list[str] = []
    prev_hash, expected_seq = GENESIS, 1
    for e in entries:
        if e.hearing_id != hearing_id:
            problems.append(f"seq {e.seq} belongs to another hearing")
        if e.seq != expected_seq:
            problems.append(_gap(expected_seq, e.seq))
        if e.prev_hash != prev_hash:
            problems.append(f"seq {e.seq}: prev_hash does not link to the preceding event")
        if not e.hash_matches():
            problems.append(f"seq {e.seq} altered: its contents do not match its hash")
        prev_hash, expected_seq = e.hash, e.seq + 1
    return problems


def check_audit(
    doc: RecordDocument,
    entries: Sequence[AuditEntry],
    manifest: Mapping[str, Any] | None,
    report: VerificationReport,
) -> None:
    if not entries:
        report.fail("audit.chain", f"{AUDIT_LOG} is empty")
        return
    problems = verify_chain(entries, doc.meta.hearing_id)
    if problems:
        report.fail("audit.chain", first_few(problems))
    else:
        report.add(
            "audit.chain", "ok", f"{len(entries)} events chain from seq 1 to seq {entries[-1].seq}"
        )
    head = doc.audit_head
    at_head = next((e for e in entries if e.seq == head.seq), None)
    sealed = manifest.get("audit_head") if manifest else None
    if at_head is None or at_head.hash != head.hash:
        report.fail(
            "audit.head",
            f"the document's audit head (seq {head.seq}) is not in the log with that hash",
        )
    elif sealed != {"seq": entries[-1].seq, "hash": entries[-1].hash}:
        report.fail("audit.head", "the manifest's sealed head is not the log's last event")
    else:
        report.add(
            "audit.head",
            "ok",
            f"document head seq {head.seq} and sealed head seq {entries[-1].seq} found",
        )


def _line_diff(record: Sequence[TranscriptLine], rebuilt: Sequence[TranscriptLine]) -> str:
    by_id = {t.line_id: t for t in rebuilt}
    for line in record:
        other = by_id.pop(line.line_id, None)
        if other is None:
            return f"line {line.line_id} is in the record but not in the audit log"
        if other != line:
            fields = [f for f in _LINE_FIELDS if getattr(other, f) != getattr(line, f)]
            return f"line {line.line_id} differs from the audit log ({', '.join(fields)})"
    if by_id:
        return f"{len(by_id)} logged line(s) missing from the record, e.g. {next(iter(by_id))}"
    return "line order differs from the audit log"


def check_transcript(
    doc: RecordDocument,
    entries: Sequence[AuditEntry],
    rebuild: TranscriptFromLog,
    report: VerificationReport,
) -> None:
    frozen = [e for e in entries if e.seq <= doc.audit_head.seq]
    try:
        rebuilt = rebuild(frozen)
    except (KeyError, ValueError, TypeError) as exc:
        report.fail("transcript.audit", f"transcript events unreadable: {exc!r}")
        return
    if rebuilt is None:
        report.add("transcript.audit", "not applicable", "the audit log has no transcript events")
    elif tuple(rebuilt) == doc.transcript:
        report.add("transcript.audit", "ok", f"{len(rebuilt)} lines match the audit log")
    else:
        report.fail("transcript.audit", _line_diff(doc.transcript, rebuilt))
