"""Sealed record end to end: three record signers and a witness oath, sealed PAdES B-T,
accepted by our verifier, pyHanko's validator, poppler's pdfsig (NSS trusting the dev
root), pdftotext and pdffonts; each tampering is caught with a specific message."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from insider import rechain

from courtroom.record.document import AuditEntry, RecordDocument
from courtroom.record.keys import CourtKeys, init_keys, load_court_keys
from courtroom.record.pdf import render_pdf
from courtroom.record.sample import (
    CASE_NUMBER,
    OPENING_LINE,
    SampleHearing,
    build_sample,
    sign_as,
)
from courtroom.record.seal import seal_record
from courtroom.record.signatures import ParticipantSignature, export_jwk
from courtroom.record.tsa import LocalTimeStamper, TimeStampAuthority
from courtroom.record.verify import VerificationReport, main_verify, verify_record


@pytest.fixture(scope="module")
def timestamper(keys: CourtKeys) -> LocalTimeStamper:
    assert keys.tsa_cert is not None and keys.tsa_key is not None
    return LocalTimeStamper(TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root]))


@pytest.fixture(scope="module")
def sample() -> SampleHearing:
    return build_sample(24)


def _seal(
    sample: SampleHearing,
    keys: CourtKeys,
    ts: LocalTimeStamper,
    *,
    doc: RecordDocument | None = None,
    entries: Sequence[AuditEntry] | None = None,
    signatures: Sequence[ParticipantSignature] | None = None,
) -> bytes:
    doc = doc or sample.doc
    sigs = sample.signatures if signatures is None else signatures
    rendered = render_pdf(doc, sigs, sample.refusals, sample.strokes)
    return seal_record(
        rendered,
        doc,
        sample.entries if entries is None else entries,
        sigs,
        keys,
        ts,
        refusals=sample.refusals,
        strokes=sample.strokes,
    )


@pytest.fixture(scope="module")
def sealed(sample: SampleHearing, keys: CourtKeys, timestamper: LocalTimeStamper) -> bytes:
    return _seal(sample, keys, timestamper)


@pytest.fixture(scope="module")
def sealed_path(sealed: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("sealed") / "record.pdf"
    p.write_bytes(sealed)
    return p


@pytest.fixture(scope="module")
def nssdb(keydir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("nssdb")
    subprocess.run(["certutil", "-N", "-d", f"sql:{d}", "--empty-password"], check=True)
    # ",C," = trusted for S/MIME (email), which is what pdfsig checks signatures against.
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{d}",
            "-n",
            "Court Dev Root",
            "-t",
            ",C,",
            "-i",
            str(keydir / "root.cert.pem"),
        ],
        check=True,
    )
    return f"sql:{d}"


def _verify(pdf: bytes, keys: CourtKeys, recordings: Path | None = None) -> VerificationReport:
    return verify_record(pdf, trust_root=keys.root, recordings_dir=recordings)


def _failed(report: VerificationReport) -> dict[str, str]:
    return {c.name: c.message for c in report.failures}


# --- accepted ---------------------------------------------------------------------------


def test_verify_record_passes(
    sealed: bytes, keys: CourtKeys, sample: SampleHearing, tmp_path: Path
) -> None:
    for name, data in sample.recording_files.items():
        (tmp_path / name).write_bytes(data)
    report = _verify(sealed, keys, tmp_path)
    assert report.ok, _failed(report)
    statuses = {c.name: c.status for c in report.checks}
    assert statuses["pades.CourtSeal"] == "ok" and statuses["pades.coverage"] == "ok"
    assert statuses["recordings"] == "ok" and statuses["transcript.audit"] == "ok"
    assert [n for n in statuses if n.startswith("signature.")] == [
        "signature.p-witness.oath",
        "signature.p-judge.record",
        "signature.p-plaintiff.record",
        "signature.p-defendant.record",
    ]


def test_pyhanko_validator_accepts_with_revocation_required(sealed: bytes, keys: CourtKeys) -> None:
    """B-LTA: revocation info required (pyHanko's --force-revinfo), none fetched: the CRL
    and certificates come from the file's Document Security Store alone."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import (
        DocumentSecurityStore,
        validate_pdf_signature,
        validate_pdf_timestamp,
    )
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    reader = PdfFileReader(io.BytesIO(sealed))
    dss = DocumentSecurityStore.read_dss(reader)
    assert len(dss.crls) >= 1 and len(dss.ocsps) == 0
    vc = dss.as_validation_context(
        {"trust_roots": [keys.root], "allow_fetching": False, "revocation_mode": "require"}
    )
    seal, doc_ts = reader.embedded_signatures
    st = validate_pdf_signature(seal, signer_validation_context=vc, ts_validation_context=vc)
    assert st.bottom_line and st.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    assert st.timestamp_validity is not None and st.timestamp_validity.trusted
    assert st.docmdp_ok and st.modification_level is not None
    assert st.modification_level.name == "LTA_UPDATES"
    assert doc_ts.sig_object_type == "/DocTimeStamp"
    ts = validate_pdf_timestamp(doc_ts, validation_context=vc)
    assert ts.intact and ts.valid and ts.trusted
    assert ts.coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_pdfsig_accepts(sealed_path: Path, nssdb: str) -> None:
    out = subprocess.run(
        ["pdfsig", "-nssdir", nssdb, str(sealed_path)], capture_output=True, text=True, check=True
    ).stdout
    blocks = re.split(r"^Signature #\d+:", out, flags=re.M)[1:]
    assert len(blocks) == 2  # the seal, then the B-LTA document timestamp
    seal, doc_ts = blocks
    assert "Signature is Valid." in seal and "Certificate is Trusted." in seal
    assert "ETSI.CAdES.detached" in seal
    # poppler lists a document timestamp (type "unknown") but cannot verify one: it says
    # "Unable to validate this type of signature"; pyHanko's validator checks it above.
    assert "Time-Stamp Authority" in doc_ts and "Total document signed" in doc_ts


def test_pdftotext_has_every_line(sealed_path: Path, sample: SampleHearing) -> None:
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(sealed_path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = re.sub(r"\s+", "", text)
    for line in (OPENING_LINE, CASE_NUMBER, *(t.text for t in sample.doc.transcript)):
        assert re.sub(r"\s+", "", line) in flat, line
    assert sample.document_hash in flat


def test_pdffonts_all_embedded(sealed_path: Path) -> None:
    out = subprocess.run(
        ["pdffonts", str(sealed_path)], capture_output=True, text=True, check=True
    ).stdout
    rows = out.splitlines()[2:]
    assert rows
    for row in rows:
        assert "Helvetica" not in row
        # columns: name type encoding emb sub uni object-id generation
        assert re.search(r"\syes\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", row), row


def test_pdfdetach_lists_attachments(sealed_path: Path) -> None:
    out = subprocess.run(
        ["pdfdetach", "-list", str(sealed_path)], capture_output=True, text=True, check=True
    ).stdout
    for name in ("record.json", "audit-log.jsonl", "manifest.json"):
        assert name in out


def test_main_verify_cli(
    sealed_path: Path, keydir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_verify([str(sealed_path), "--trust-root", str(keydir / "root.cert.pem")]) == 0
    assert "RESULT: VALID" in capsys.readouterr().out


# --- tampering ----------------------------------------------------------------------------


def test_one_byte_changed(
    sealed: bytes,
    keys: CourtKeys,
    sealed_path: Path,
    nssdb: str,
    tmp_path: Path,
    keydir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Flip a byte inside the first content stream (inside the signed range).
    at = sealed.index(b"stream", 2000) + 40
    bad = bytearray(sealed)
    bad[at] ^= 0x01
    report = _verify(bytes(bad), keys)
    failed = _failed(report)
    assert "signed bytes were altered" in failed["pades.CourtSeal"]
    assert "does not match the manifest" in failed["manifest.rendered_pdf"]
    p = tmp_path / "bad.pdf"
    p.write_bytes(bytes(bad))
    out = subprocess.run(
        ["pdfsig", "-nssdir", nssdb, str(p)], capture_output=True, text=True
    ).stdout
    assert "Digest Mismatch." in out
    assert main_verify([str(p), "--trust-root", str(keydir / "root.cert.pem")]) == 1
    assert "RESULT: INVALID" in capsys.readouterr().out


def test_unsigned_update_after_seal(sealed: bytes, keys: CourtKeys) -> None:
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(sealed))
    ef = embed.EmbeddedFileObject.from_file_data(w, data=b"{}", mime_type="application/json")
    embed.embed_file(w, embed.FileSpec(file_spec_string="extra.json", embedded_data=ef))
    out = io.BytesIO()
    w.write(out)
    failed = _failed(_verify(out.getvalue(), keys))
    assert "bytes were added after the last signature" in failed["pades.coverage"]
    assert "not listed in the manifest: extra.json" in failed["manifest.attachments"]


def test_transcript_row_changed_and_resealed_without_participant_keys(
    sample: SampleHearing,
    keys: CourtKeys,
    timestamper: LocalTimeStamper,
) -> None:
    # Someone with the court keys but not the participants' keys alters a row and reseals.
    doc = sample.doc
    row = dataclasses.replace(doc.transcript[5], text="被告当庭承认全部借款事实。")
    doc = dataclasses.replace(doc, transcript=(*doc.transcript[:5], row, *doc.transcript[6:]))
    report = _verify(_seal(sample, keys, timestamper, doc=doc), keys)
    failed = _failed(report)
    assert report.check("pades.CourtSeal").status == "ok"  # the seal itself is genuine
    for pid in ("p-judge", "p-plaintiff", "p-defendant"):
        assert "the document changed after signing" in failed[f"signature.{pid}.record"]
    assert failed["transcript.audit"] == f"line {row.line_id} differs from the audit log (text)"
    assert report.check("signature.p-witness.oath").status == "ok"


def test_chat_in_the_sealed_record_is_checked_against_the_log(
    sealed: bytes,
    sample: SampleHearing,
    keys: CourtKeys,
    timestamper: LocalTimeStamper,
) -> None:
    # Every chat message and mute is in the sealed record, rebuilt from the attached log.
    assert [(c.kind, c.participant_id) for c in sample.doc.chat] == [
        ("message", "p-plaintiff"), ("message", "p-judge"), ("message", "p-clerk"),
        ("mute", "p-defendant"), ("unmute", "p-defendant"),
    ]
    report = _verify(sealed, keys)
    assert report.check("record.rebuilt").status == "ok", _failed(report)
    # With the court's keys, someone softens a chat message in the record and reseals.
    doc = sample.doc
    soft = dataclasses.replace(doc.chat[0], text="原告：无异议。")
    doc = dataclasses.replace(doc, chat=(soft, *doc.chat[1:]))
    report = _verify(_seal(sample, keys, timestamper, doc=doc), keys)
    failed = _failed(report)
    assert report.check("pades.CourtSeal").status == "ok"
    assert "differs from the document rebuilt from the audit log" in failed["record.rebuilt"]
    assert "chat" in failed["record.rebuilt"], failed["record.rebuilt"]


def test_recording_swapped(
    sealed: bytes, keys: CourtKeys, sample: SampleHearing, tmp_path: Path
) -> None:
    names = sorted(sample.recording_files)
    for name, data in sample.recording_files.items():
        (tmp_path / name).write_bytes(data)
    # Same size, other content: only the hash can tell.
    (tmp_path / names[0]).write_bytes(sample.recording_files[names[1]])
    failed = _failed(_verify(sealed, keys, tmp_path))
    assert failed["recordings"] == (
        f"{names[0]}: SHA-256 differs from the record (file swapped or altered)"
    )
    (tmp_path / names[0]).write_bytes(b"short")
    assert "size 5 != recorded" in _failed(_verify(sealed, keys, tmp_path))["recordings"]
    (tmp_path / names[0]).unlink()
    assert f"{names[0]}: missing" in _failed(_verify(sealed, keys, tmp_path))["recordings"]


def test_signature_from_unregistered_key(
    sample: SampleHearing, keys: CourtKeys, timestamper: LocalTimeStamper
) -> None:
    intruder = ec.generate_private_key(ec.SECP256R1())
    sigs = list(sample.signatures)
    i = next(n for n, s in enumerate(sigs) if s.participant_id == "p-defendant")
    sigs[i] = dataclasses.replace(
        sigs[i],
        signature=sign_as(intruder, "record", sample.document_hash),
        public_key=export_jwk(intruder.public_key()),
    )
    failed = _failed(_verify(_seal(sample, keys, timestamper, signatures=sigs), keys))
    assert list(failed) == ["signature.p-defendant.record", "signatures.log"]
    assert (
        "not the one registered for this participant (unregistered key"
        in failed["signature.p-defendant.record"]
    )
    assert "(p-defendant, record) is missing from record.json" in failed["signatures.log"]
    # Claiming the registered key while signing with another one fails the ECDSA check.
    sigs[i] = dataclasses.replace(sigs[i], public_key=sample.signatures[i].public_key)
    failed = _failed(_verify(_seal(sample, keys, timestamper, signatures=sigs), keys))
    assert failed["signature.p-defendant.record"] == (
        "ECDSA signature does not verify with the registered key"
    )


def test_event_deleted_from_chain(
    sample: SampleHearing, keys: CourtKeys, timestamper: LocalTimeStamper
) -> None:
    entries = [e for e in sample.entries if e.seq != 9]
    failed = _failed(_verify(_seal(sample, keys, timestamper, entries=entries), keys))
    assert failed["audit.chain"].startswith("event seq 9 missing (deleted from the chain)")

    # Deleting and re-chaining everything after it: the head the participants signed is gone.
    rechained = rechain(entries)
    report = _verify(_seal(sample, keys, timestamper, entries=rechained), keys)
    failed = _failed(report)
    assert report.check("audit.chain").status == "ok"
    assert "audit head" in failed["audit.head"]


def test_event_altered_in_chain(
    sample: SampleHearing, keys: CourtKeys, timestamper: LocalTimeStamper
) -> None:
    entries = list(sample.entries)
    e = entries[12]
    entries[12] = dataclasses.replace(e, payload={**e.payload, "text": "篡改"})
    failed = _failed(_verify(_seal(sample, keys, timestamper, entries=entries), keys))
    assert failed["audit.chain"] == f"seq {e.seq} altered: its contents do not match its hash"


def test_wrong_trust_root(sealed: bytes, tmp_path: Path) -> None:
    init_keys(tmp_path)
    other = load_court_keys(tmp_path)
    failed = _failed(_verify(sealed, other))
    assert "does not chain to the trust root" in failed["pades.CourtSeal"]


def test_refusal_is_sealed_and_reported(sealed: bytes, keys: CourtKeys) -> None:
    report = _verify(sealed, keys)
    assert report.ok, _failed(report)
    assert report.check("signatures.summary").message == (
        "3 record signature(s), 1 oath signature(s), 1 refusal(s)"
    )
    assert report.check("signatures.expected").message == (
        "all 4 who answer the record did: 3 signed, 1 refused"
    )


def test_not_a_pdf_or_unsigned(keys: CourtKeys, sample: SampleHearing) -> None:
    failed = _failed(_verify(b"%PDF-1.4\ngarbage", keys))
    assert failed["pades"].startswith("PDF cannot be parsed")
    unsigned = render_pdf(sample.doc, sample.signatures, sample.refusals, sample.strokes)
    report = _verify(unsigned, keys)
    assert _failed(report)["pades"] == "the PDF carries no signature"
    assert _failed(report)["manifest"] == "manifest.json is not attached"
