"""Offline verification of a sealed hearing record: ``verify_record`` and ``main_verify``.

Every check is reported by name with ``ok``, ``failed``, ``skipped`` (an input was not
given) or ``not applicable``; the record is valid when nothing failed. Checks:

1. ``pades.<field>``     each PDF signature intact, trusted, DocMDP respected, and carrying
                         a trusted RFC 3161 timestamp (pyHanko's bottom_line is True without
                         one, so it is required explicitly); ``pades.coverage``: the last
                         signature covers the entire file (no unsigned trailing update).
2. ``manifest.*``        the rendered-PDF prefix and every attachment hash to the manifest.
3. ``record.document_hash`` the canonical document recomputed from record.json.
4. ``signature.<participant>.<purpose>`` each participant signature verifies with the key
                         registered for that participant in the document.
5. ``audit.chain`` / ``audit.head`` the log chains from seq 1 without gaps or alterations
                         and contains the document's head; the manifest's head is its end.
6. ``transcript.audit``  record.json's transcript equals the one rebuilt from the log
                         (pluggable; not applicable when the log has no transcript events).
7. ``recordings``        with a directory: each file's size and SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from asn1crypto import x509

from courtroom.record.document import (
    AuditEntry,
    RecordDocument,
    RecordFormatError,
    TranscriptLine,
    document_hash,
    from_json,
    oath_hash,
)
from courtroom.record.seal import (
    AUDIT_LOG,
    MANIFEST,
    MANIFEST_FORMAT,
    RECORD_JSON,
    stroke_attachment_name,
)
from courtroom.record.signatures import (
    ParticipantSignature,
    SignatureRefusal,
    same_key,
    verify_participant_signature,
)
from courtroom.store.chain import GENESIS

Status = Literal["ok", "failed", "skipped", "not applicable"]

TranscriptFromLog = Callable[[Sequence[AuditEntry]], tuple[TranscriptLine, ...] | None]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    message: str

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass
class VerificationReport:
    source: str = ""
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and not any(c.failed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.failed]

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def add(self, name: str, status: Status, message: str) -> None:
        self.checks.append(Check(name, status, message))


# --- transcript from the audit log (event types provisional; pass your own) -----------


def transcript_from_log_v1(entries: Sequence[AuditEntry]) -> tuple[TranscriptLine, ...] | None:
    """Rebuild the transcript from ``transcript.line`` / ``transcript.corrected`` events.

    Returns None when the log has no ``transcript.*`` events (check not applicable).
    """
    if not any(e.type.startswith("transcript.") for e in entries):
        return None
    lines: dict[str, TranscriptLine] = {}
    for e in entries:
        p = e.payload
        if e.type == "transcript.line":
            lines[str(p["line_id"])] = TranscriptLine(
                line_id=str(p["line_id"]),
                speaker_id=str(p["speaker_id"]),
                speaker_name=str(p["speaker_name"]),
                t0_ms=int(p["t0_ms"]),
                t1_ms=int(p["t1_ms"]),
                text=str(p["text"]),
            )
        elif e.type == "transcript.corrected":
            old = lines[str(p["line_id"])]
            lines[old.line_id] = TranscriptLine(
                old.line_id,
                old.speaker_id,
                old.speaker_name,
                old.t0_ms,
                old.t1_ms,
                str(p["text"]),
                True,
                old.original_text if old.corrected else old.text,
            )
    return tuple(lines.values())


# --- PDF side -------------------------------------------------------------------------


def _embedded_files(reader: Any) -> dict[str, bytes]:
    # DictionaryObject.__getitem__ dereferences; .get() does not.
    root = reader.root
    names = root["/Names"] if "/Names" in root else None  # noqa: SIM401
    tree = names["/EmbeddedFiles"] if names is not None and "/EmbeddedFiles" in names else None
    out: dict[str, bytes] = {}

    def walk(node: Any) -> None:
        if "/Names" in node:
            arr = node["/Names"]
            for i in range(0, len(arr) - 1, 2):
                spec = arr[i + 1].get_object()
                name = str(spec["/UF"] if "/UF" in spec else arr[i])
                out[name] = spec["/EF"]["/F"].data
        if "/Kids" in node:
            for kid in node["/Kids"]:
                walk(kid.get_object())

    if tree is not None:
        walk(tree.get_object())
    return out


def _check_pades(
    pdf: bytes,
    trust_root: x509.Certificate,
    report: VerificationReport,
) -> dict[str, bytes] | None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = list(reader.embedded_signatures)
        attachments = _embedded_files(reader)
    except Exception as exc:  # pyHanko raises (not reports) on a damaged file
        report.add("pades", "failed", f"PDF cannot be parsed: {type(exc).__name__}: {exc}")
        return None
    if not sigs:
        report.add("pades", "failed", "the PDF carries no signature")
        return attachments
    # Offline: no fetching; no CRLs are issued by the dev PKI, so soft-fail revocation.
    vc = ValidationContext(
        trust_roots=[trust_root], allow_fetching=False, revocation_mode="soft-fail"
    )
    for sig in sigs:
        name = f"pades.{sig.field_name}"
        try:
            if sig.sig_object_type == "/DocTimeStamp":
                ts = validate_pdf_timestamp(sig, validation_context=vc)
                if ts.intact and ts.valid and ts.trusted:
                    report.add(name, "ok", f"document timestamp {ts.timestamp} trusted")
                else:
                    report.add(name, "failed", f"document timestamp not valid: {ts.summary()}")
                continue
            st = validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc)
        except Exception as exc:
            report.add(name, "failed", f"validation raised {type(exc).__name__}: {exc}")
            continue
        problems = []
        if not st.intact:
            problems.append("signed bytes were altered (digest mismatch)")
        if not st.valid:
            problems.append("cryptographic signature invalid")
        if not st.trusted:
            problems.append("signer certificate does not chain to the trust root")
        if st.docmdp_ok is False:
            problems.append(f"modifications after signing not permitted ({st.modification_level})")
        tv = st.timestamp_validity
        if tv is None:
            problems.append("no signature timestamp (PAdES B-T required)")
        elif not (tv.intact and tv.valid and tv.trusted):
            problems.append("signature timestamp not valid or not trusted")
        if not st.bottom_line and not problems:
            problems.append(st.summary())
        if problems:
            report.add(name, "failed", "; ".join(problems))
        else:
            assert tv is not None
            report.add(
                name,
                "ok",
                f"signed by {st.signing_cert.subject.human_friendly}; "
                f"timestamp {tv.timestamp.isoformat()} trusted; "
                f"coverage {st.coverage.name if st.coverage else '?'}",
            )
    last = sigs[-1]
    try:
        coverage = last.evaluate_signature_coverage()
    except Exception as exc:
        report.add("pades.coverage", "failed", f"cannot evaluate coverage: {exc}")
    else:
        if coverage == SignatureCoverageLevel.ENTIRE_FILE:
            report.add("pades.coverage", "ok", "the last signature covers the entire file")
        else:
            report.add(
                "pades.coverage",
                "failed",
                f"bytes were added after the last signature ({coverage.name})",
            )
    return attachments


def _digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}


def _check_manifest(
    pdf: bytes,
    files: Mapping[str, bytes],
    report: VerificationReport,
) -> dict[str, Any] | None:
    raw = files.get(MANIFEST)
    if raw is None:
        report.add("manifest", "failed", f"{MANIFEST} is not attached")
        return None
    try:
        manifest = json.loads(raw)
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"unknown manifest format {manifest.get('format')!r}")
        rendered = manifest["rendered_pdf"]
        length = int(rendered["length"])
    except (ValueError, KeyError, TypeError) as exc:
        report.add("manifest", "failed", f"{MANIFEST} unreadable: {exc}")
        return None
    if length <= len(pdf) and _digest(pdf[:length]) == rendered:
        report.add("manifest.rendered_pdf", "ok", f"rendered PDF ({length} bytes) unchanged")
    else:
        report.add(
            "manifest.rendered_pdf",
            "failed",
            "the rendered transcript PDF (first revision) does not match the manifest hash",
        )
    listed: dict[str, Any] = manifest.get("attachments", {})
    bad = [n for n, d in listed.items() if n not in files or _digest(files[n]) != d]
    extra = sorted(set(files) - set(listed) - {MANIFEST})
    if bad:
        report.add(
            "manifest.attachments",
            "failed",
            "attachment hash mismatch or missing: " + ", ".join(sorted(bad)),
        )
    elif extra:
        report.add(
            "manifest.attachments",
            "failed",
            "attachments not listed in the manifest: " + ", ".join(extra),
        )
    else:
        report.add("manifest.attachments", "ok", f"{len(listed)} attachments match")
    return dict(manifest)


def _load_record(
    files: Mapping[str, bytes],
    report: VerificationReport,
) -> tuple[RecordDocument, list[ParticipantSignature], list[SignatureRefusal], str] | None:
    raw = files.get(RECORD_JSON)
    if raw is None:
        report.add("record", "failed", f"{RECORD_JSON} is not attached")
        return None
    try:
        obj = json.loads(raw)
        doc = from_json(obj["document"])
        sigs = [ParticipantSignature.from_json(s) for s in obj["signatures"]]
        refusals = [SignatureRefusal.from_json(r) for r in obj["refusals"]]
        claimed = str(obj["document_hash"])
    except (ValueError, KeyError, TypeError, RecordFormatError) as exc:
        report.add("record", "failed", f"{RECORD_JSON} unreadable: {exc}")
        return None
    return doc, sigs, refusals, claimed


def _check_participant_signatures(
    doc: RecordDocument,
    doc_hash: str,
    sigs: Sequence[ParticipantSignature],
    refusals: Sequence[SignatureRefusal],
    files: Mapping[str, bytes],
    report: VerificationReport,
) -> None:
    for sig in sigs:
        name = f"signature.{sig.participant_id}.{sig.purpose}"
        who = doc.participant(sig.participant_id)
        if who is None:
            report.add(name, "failed", "signer is not a participant of this hearing")
            continue
        if who.public_key is None:
            report.add(name, "failed", "participant has no registered signing key")
            continue
        if not same_key(sig.public_key, who.public_key):
            report.add(
                name,
                "failed",
                "signature made with a key that is not the one registered for this "
                "participant (unregistered key)",
            )
            continue
        if sig.purpose == "record":
            expected = doc_hash
        else:
            oath = next((o for o in doc.oaths if o.participant_id == sig.participant_id), None)
            if oath is None:
                report.add(name, "failed", "oath signature but no oath statement in the record")
                continue
            expected = oath_hash(doc.meta.hearing_id, oath)
        if sig.signed_hash != expected:
            report.add(
                name,
                "failed",
                f"signed hash {sig.signed_hash[:16]}… is not the {sig.purpose} hash "
                f"{expected[:16]}… (the document changed after signing)",
            )
            continue
        if not verify_participant_signature(who.public_key, sig.message(), sig.signature):
            report.add(name, "failed", "ECDSA signature does not verify with the registered key")
            continue
        if sig.stroke_png_sha256 is not None:
            png = files.get(stroke_attachment_name(sig.stroke_png_sha256))
            if png is None or hashlib.sha256(png).hexdigest() != sig.stroke_png_sha256:
                report.add(name, "failed", "handwritten stroke image missing or altered")
                continue
        report.add(name, "ok", f"{who.role} signed the {sig.purpose} hash with the registered key")
    n_rec = sum(1 for s in sigs if s.purpose == "record")
    n_oath = len(sigs) - n_rec
    report.add(
        "signatures.summary",
        "ok" if sigs or refusals else "failed",
        f"{n_rec} record signature(s), {n_oath} oath signature(s), {len(refusals)} refusal(s)",
    )


def _parse_log(raw: bytes, report: VerificationReport) -> list[AuditEntry] | None:
    entries = []
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(AuditEntry.from_json(json.loads(line)))
        except (ValueError, RecordFormatError) as exc:
            report.add("audit.chain", "failed", f"{AUDIT_LOG} line {n} unreadable: {exc}")
            return None
    return entries


def verify_chain(entries: Sequence[AuditEntry], hearing_id: str) -> list[str]:
    """Problems with the hash chain, in order; empty when it verifies from seq 1."""
    problems: list[str] = []
    prev_hash, expected_seq = GENESIS, 1
    for e in entries:
        if e.hearing_id != hearing_id:
            problems.append(f"seq {e.seq} belongs to another hearing")
        if e.seq != expected_seq:
            if e.seq > expected_seq:
                missing = (
                    f"seq {expected_seq}"
                    if e.seq == expected_seq + 1
                    else f"seq {expected_seq}-{e.seq - 1}"
                )
                problems.append(f"event {missing} missing (deleted from the chain)")
            else:
                problems.append(f"seq {e.seq} out of order or duplicated")
        if e.prev_hash != prev_hash:
            problems.append(f"seq {e.seq}: prev_hash does not link to the preceding event")
        if not e.hash_matches():
            problems.append(f"seq {e.seq} altered: its contents do not match its hash")
        prev_hash, expected_seq = e.hash, e.seq + 1
    return problems


def _check_audit(
    doc: RecordDocument,
    entries: Sequence[AuditEntry],
    manifest: Mapping[str, Any] | None,
    report: VerificationReport,
) -> None:
    if not entries:
        report.add("audit.chain", "failed", f"{AUDIT_LOG} is empty")
        return
    problems = verify_chain(entries, doc.meta.hearing_id)
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        report.add("audit.chain", "failed", "; ".join(problems[:3]) + more)
    else:
        report.add(
            "audit.chain", "ok", f"{len(entries)} events chain from seq 1 to seq {entries[-1].seq}"
        )
    head = doc.audit_head
    at_head = next((e for e in entries if e.seq == head.seq), None)
    sealed = manifest.get("audit_head") if manifest else None
    if at_head is None or at_head.hash != head.hash:
        report.add(
            "audit.head",
            "failed",
            f"the document's audit head (seq {head.seq}) is not in the log with that hash",
        )
    elif sealed != {"seq": entries[-1].seq, "hash": entries[-1].hash}:
        report.add("audit.head", "failed", "the manifest's sealed head is not the log's last event")
    else:
        report.add(
            "audit.head",
            "ok",
            f"document head seq {head.seq} and sealed head seq {entries[-1].seq} found",
        )


def _check_transcript(
    doc: RecordDocument,
    entries: Sequence[AuditEntry],
    rebuild: TranscriptFromLog,
    report: VerificationReport,
) -> None:
    frozen = [e for e in entries if e.seq <= doc.audit_head.seq]
    try:
        rebuilt = rebuild(frozen)
    except (KeyError, ValueError, TypeError) as exc:
        report.add("transcript.audit", "failed", f"transcript events unreadable: {exc!r}")
        return
    if rebuilt is None:
        report.add("transcript.audit", "not applicable", "the audit log has no transcript events")
        return
    if tuple(rebuilt) == doc.transcript:
        report.add("transcript.audit", "ok", f"{len(rebuilt)} lines match the audit log")
        return
    by_id = {t.line_id: t for t in rebuilt}
    for line in doc.transcript:
        other = by_id.pop(line.line_id, None)
        if other is None:
            report.add(
                "transcript.audit",
                "failed",
                f"line {line.line_id} is in the record but not in the audit log",
            )
            return
        if other != line:
            fields_ = [
                f
                for f in (
                    "speaker_id",
                    "speaker_name",
                    "t0_ms",
                    "t1_ms",
                    "text",
                    "corrected",
                    "original_text",
                )
                if getattr(other, f) != getattr(line, f)
            ]
            report.add(
                "transcript.audit",
                "failed",
                f"line {line.line_id} differs from the audit log ({', '.join(fields_)})",
            )
            return
    report.add(
        "transcript.audit",
        "failed",
        f"{len(by_id)} logged line(s) missing from the record, e.g. {next(iter(by_id), '?')}"
        if by_id
        else "line order differs from the audit log",
    )


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _check_recordings(
    doc: RecordDocument, directory: Path | None, report: VerificationReport
) -> None:
    if directory is None:
        report.add(
            "recordings",
            "skipped",
            f"no recordings directory given; {len(doc.recordings)} file hash(es) unchecked",
        )
        return
    problems: list[str] = []
    for r in doc.recordings:
        if Path(r.name).name != r.name or r.name in ("", ".", ".."):
            problems.append(f"{r.name!r}: not a plain file name")
            continue
        path = directory / r.name
        if not path.is_file():
            problems.append(f"{r.name}: missing")
        elif path.stat().st_size != r.bytes:
            problems.append(
                f"{r.name}: size {path.stat().st_size} != recorded {r.bytes} "
                "(file swapped or altered)"
            )
        elif _sha256_file(path) != r.sha256:
            problems.append(f"{r.name}: SHA-256 differs from the record (file swapped or altered)")
    if problems:
        report.add("recordings", "failed", "; ".join(problems))
    else:
        report.add("recordings", "ok", f"{len(doc.recordings)} file(s) match their hashes")


def verify_record(
    pdf_bytes: bytes,
    *,
    trust_root: x509.Certificate,
    recordings_dir: Path | str | None = None,
    transcript_from_log: TranscriptFromLog = transcript_from_log_v1,
    source: str = "",
) -> VerificationReport:
    """Run every check offline. Blocking (pyHanko): use ``asyncio.to_thread`` in a server."""
    report = VerificationReport(source=source)
    files = _check_pades(pdf_bytes, trust_root, report)
    if files is None:
        return report
    manifest = _check_manifest(pdf_bytes, files, report)
    loaded = _load_record(files, report)
    if loaded is None:
        return report
    doc, sigs, refusals, claimed = loaded
    doc_hash = document_hash(doc)
    want = {claimed, manifest.get("document_hash") if manifest else claimed}
    if want == {doc_hash}:
        report.add("record.document_hash", "ok", f"document SHA-256 {doc_hash}")
    else:
        report.add(
            "record.document_hash",
            "failed",
            "the recomputed document hash differs from the one recorded at sealing",
        )
    _check_participant_signatures(doc, doc_hash, sigs, refusals, files, report)
    raw_log = files.get(AUDIT_LOG)
    entries = None
    if raw_log is None:
        report.add("audit.chain", "failed", f"{AUDIT_LOG} is not attached")
    else:
        entries = _parse_log(raw_log, report)
    if entries is not None:
        _check_audit(doc, entries, manifest, report)
        _check_transcript(doc, entries, transcript_from_log, report)
    _check_recordings(doc, Path(recordings_dir) if recordings_dir is not None else None, report)
    return report


# --- CLI ------------------------------------------------------------------------------

_MARK: dict[Status, str] = {
    "ok": " OK ",
    "failed": "FAIL",
    "skipped": "SKIP",
    "not applicable": " -- ",
}


def render_report(report: VerificationReport) -> str:
    lines = [f"courtroom verify: {report.source}" if report.source else "courtroom verify"]
    for c in report.checks:
        lines.append(f"  [{_MARK[c.status]}] {c.name}: {c.message}")
    failed = report.failures
    lines.append(
        "RESULT: VALID — every check passed"
        if report.ok
        else f"RESULT: INVALID — {len(failed)} check(s) failed: "
        + ", ".join(c.name for c in failed)
    )
    return "\n".join(lines)


def main_verify(argv: Sequence[str] | None = None) -> int:
    """``courtroom verify <record.pdf> [--recordings DIR] [--trust-root PEM]``.

    Exit status: 0 valid, 1 any check failed, 2 unusable input.
    """
    from courtroom.paths import data_dir
    from courtroom.record.keys import ROOT_CERT, load_trust_root

    parser = argparse.ArgumentParser(
        prog="courtroom verify", description="Verify a sealed hearing record offline."
    )
    parser.add_argument("record", type=Path, help="sealed record PDF")
    parser.add_argument(
        "--recordings",
        type=Path,
        default=None,
        help="directory holding the hearing's recording files",
    )
    parser.add_argument(
        "--trust-root",
        type=Path,
        default=None,
        help=f"PEM trust anchor (default: $COURTROOM_DATA_DIR/keys/{ROOT_CERT})",
    )
    args = parser.parse_args(argv)
    root_path: Path = args.trust_root or data_dir() / "keys" / ROOT_CERT
    try:
        pdf = args.record.read_bytes()
        root = load_trust_root(root_path)
    except (OSError, ValueError) as exc:
        print(f"courtroom verify: {exc}", file=sys.stderr)
        return 2
    if args.recordings is not None and not args.recordings.is_dir():
        print(f"courtroom verify: not a directory: {args.recordings}", file=sys.stderr)
        return 2
    # Records sealed by the server carry transcript_line/transcript_correction events.
    from courtroom.record.hearing_log import transcript_from_log

    report = verify_record(
        pdf,
        trust_root=root,
        recordings_dir=args.recordings,
        transcript_from_log=transcript_from_log,
        source=str(args.record),
    )
    print(render_report(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main_verify())
