"""Attacks by someone who holds the court's keys and re-seals with the project's own
library: each one is reported by ``courtroom verify`` with a specific message, given
the log the record carries, a signer's receipt or a transparency-log tree head."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from courtroom.domain import events as ev
from courtroom.record.document import AuditEntry, RecordDocument, document_hash
from courtroom.record.hearing_log import answers, freeze
from courtroom.record.keys import CourtKeys, init_keys, load_court_keys
from courtroom.record.pdf import render_pdf
from courtroom.record.receipts import make_receipt
from courtroom.record.sample import SampleHearing, build_sample, sign_as
from courtroom.record.seal import seal_record
from courtroom.record.signatures import ParticipantSignature, SignatureRefusal, export_jwk
from courtroom.record.transparency import TransparencyLog, record_leaf
from courtroom.record.tsa import LocalTimeStamper, TimeStampAuthority
from courtroom.record.verify import Anchors, VerificationReport, main_verify, verify_record
from courtroom.store.chain import GENESIS, entry_hash


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("court-keys")
    init_keys(d)
    return d


@pytest.fixture(scope="module")
def keys(keydir: Path) -> CourtKeys:
    return load_court_keys(keydir)


def stamper(keys: CourtKeys, clock: Any = None) -> LocalTimeStamper:
    assert keys.tsa_cert is not None and keys.tsa_key is not None
    kw = {} if clock is None else {"clock": clock}
    return LocalTimeStamper(
        TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root], **kw)
    )


@pytest.fixture(scope="module")
def sample() -> SampleHearing:
    return build_sample(24)


def seal(
    sample: SampleHearing,
    keys: CourtKeys,
    *,
    doc: RecordDocument | None = None,
    entries: Sequence[AuditEntry] | None = None,
    sigs: Sequence[ParticipantSignature] | None = None,
    refusals: Sequence[SignatureRefusal] | None = None,
    pages_of: RecordDocument | None = None,
    clock: Any = None,
) -> bytes:
    """What an insider does: render, attach and seal with the court's own keys."""
    doc = doc or sample.doc
    sigs = sample.signatures if sigs is None else sigs
    refusals = sample.refusals if refusals is None else refusals
    rendered = render_pdf(pages_of or doc, sigs, refusals, sample.strokes)
    entries = sample.entries if entries is None else entries
    return seal_record(
        rendered,
        doc,
        entries,
        sigs,
        keys,
        stamper(keys, clock),
        refusals=refusals,
        strokes=sample.strokes,
    )


def verify(pdf: bytes, keys: CourtKeys, anchors: Anchors | None = None) -> VerificationReport:
    return verify_record(pdf, trust_root=keys.root, anchors=anchors)


def failed(report: VerificationReport) -> dict[str, str]:
    return {c.name: c.message for c in report.failures}


def rechain(entries: Sequence[AuditEntry]) -> list[AuditEntry]:
    out: list[AuditEntry] = []
    prev = GENESIS
    for n, e in enumerate(entries, start=1):
        h = entry_hash(
            hearing_id=e.hearing_id,
            seq=n,
            type=e.type,
            actor=e.actor,
            at=e.at,
            payload=e.payload,
            prev_hash=prev,
        )
        out.append(dataclasses.replace(e, seq=n, prev_hash=prev, hash=h))
        prev = h
    return out


def replace_line(doc: RecordDocument, i: int, text: str) -> RecordDocument:
    row = dataclasses.replace(doc.transcript[i], text=text)
    return dataclasses.replace(doc, transcript=(*doc.transcript[:i], row, *doc.transcript[i + 1 :]))


# --- the genuine record -------------------------------------------------------------------


def test_genuine_record_reconciles(sample: SampleHearing, keys: CourtKeys) -> None:
    report = verify(seal(sample, keys), keys)
    assert report.ok, failed(report)
    status = {c.name: c.status for c in report.checks}
    for name in (
        "record.rebuilt",
        "signatures.log",
        "signatures.expected",
        "pages",
        "pades.padding",
    ):
        assert status[name] == "ok", name
    assert status["timestamp.time"] == "ok"
    authority = report.check("timestamp.authority")
    assert authority.status == "warning" and "LOCAL time-stamp authority" in authority.message
    assert "Court Local Time-Stamp Authority" in authority.message


# --- attacks with the court's keys ---------------------------------------------------------


def test_keys_swapped_in_record_json_and_resigned(sample: SampleHearing, keys: CourtKeys) -> None:
    fresh = {pid: ec.generate_private_key(ec.SECP256R1()) for pid in sample.device_keys}
    people = tuple(
        dataclasses.replace(
            p,
            public_key=export_jwk(fresh[p.participant_id].public_key()),
            identity_check="verified",
        )
        for p in sample.doc.participants
    )
    doc = dataclasses.replace(sample.doc, participants=people)
    new_hash = document_hash(doc)
    sigs = [
        dataclasses.replace(
            s,
            signed_hash=new_hash if s.purpose == "record" else s.signed_hash,
            signature=sign_as(
                fresh[s.participant_id],
                s.purpose,
                new_hash if s.purpose == "record" else s.signed_hash,
            ),
            public_key=export_jwk(fresh[s.participant_id].public_key()),
        )
        for s in sample.signatures
    ]
    got = failed(verify(seal(sample, keys, doc=doc, sigs=sigs), keys))
    assert got["record.rebuilt"].startswith(
        "record.json differs from the document rebuilt from the audit log: participant p-judge public_key"
    )
    assert "unregistered key; the log registers another at seq" in got["signature.p-judge.record"]
    assert "unregistered key" in got["signature.p-witness.oath"]
    assert "(signature dropped)" in got["signatures.log"]


def test_page_shows_another_line_than_record_json(sample: SampleHearing, keys: CourtKeys) -> None:
    shown = replace_line(sample.doc, 5, "被告当庭承认全部借款事实。")
    got = failed(verify(seal(sample, keys, pages_of=shown), keys))
    assert list(got) == ["pages"]
    assert got["pages"].startswith(
        "the sealed pages differ from the pages rendered from record.json: page 1 shows "
        "something other than record.json"
    )


def test_refusal_dropped(sample: SampleHearing, keys: CourtKeys) -> None:
    got = failed(verify(seal(sample, keys, refusals=()), keys))
    assert list(got) == ["signatures.log"]
    assert got["signatures.log"] == (
        f"signing_refused event by p-clerk (record, {sample.refusals[0].at}) is missing from "
        "record.json (refusal dropped)"
    )


def test_signature_dropped(sample: SampleHearing, keys: CourtKeys) -> None:
    sigs = [s for s in sample.signatures if s.participant_id != "p-defendant"]
    seq = next(
        e.seq for e in sample.entries if e.type == "document_signed" and e.actor == "p-defendant"
    )
    got = failed(verify(seal(sample, keys, sigs=sigs), keys))
    assert list(got) == ["signatures.log"]
    assert got["signatures.log"] == (
        f"document_signed event seq {seq} (p-defendant, record) is missing from record.json (signature dropped)"
    )


def _without_line(
    sample: SampleHearing, keep_stale: bool
) -> tuple[RecordDocument, list[AuditEntry]]:
    gone = next(
        e
        for e in sample.entries
        if e.type == "transcript_line" and e.payload["line_id"] == "l00006"
    )
    entries = [
        e
        for e in sample.entries
        if e.seq != gone.seq
        and (keep_stale or not (e.type == "document_signed" and e.payload["purpose"] == "record"))
    ]
    entries = rechain(entries)
    frozen = freeze(sample.doc.meta.hearing_id, entries)
    assert frozen is not None
    return frozen.document, entries


def test_log_line_removed_rechained_stale_signatures_dropped(
    sample: SampleHearing, keys: CourtKeys
) -> None:
    doc, entries = _without_line(sample, keep_stale=True)
    oath_only = [s for s in sample.signatures if s.purpose == "oath"]
    got = failed(verify(seal(sample, keys, doc=doc, entries=entries, sigs=oath_only), keys))
    assert "signed record hash" in got["signatures.log"]
    assert "the log before the close was changed after they signed" in got["signatures.log"]
    assert got["signatures.summary"].startswith("no one signed the record")

    # Dropping the stale events too: the log proves nothing wrong, but the record is empty.
    doc, entries = _without_line(sample, keep_stale=False)
    report = verify(seal(sample, keys, doc=doc, entries=entries, sigs=oath_only), keys)
    assert list(failed(report)) == ["signatures.summary"]
    assert report.check("signatures.expected").message == (
        "expected to sign the record but neither signed nor refused: 赵审判 (judge), "
        "孙原告 (Sun Yuan) (plaintiff), 李被告 (defendant)"
    )


def _resign(
    entries: Sequence[AuditEntry],
    purpose: str,
    digest: str,
    keys: dict[str, ec.EllipticCurvePrivateKey],
) -> list[AuditEntry]:
    out = []
    for e in entries:
        if e.type == ev.DocumentSigned.TYPE and e.payload["purpose"] == purpose:
            pid = str(e.payload["participant"])
            sig = sign_as(keys[pid], purpose, digest)  # type: ignore[arg-type]
            e = dataclasses.replace(
                e, payload={**e.payload, "signed_hash": digest, "signature": sig}
            )
        out.append(e)
    return rechain(out)


def rewrite_history(
    sample: SampleHearing,
) -> tuple[RecordDocument, list[AuditEntry], list[ParticipantSignature]]:
    """Log, keys and signatures rewritten: new device keys registered, a line changed,
    every signature re-made with the new keys, the chain recomputed."""
    fresh = {pid: ec.generate_private_key(ec.SECP256R1()) for pid in sample.device_keys}
    changed: list[AuditEntry] = []
    for e in sample.entries:
        p = dict(e.payload)
        if e.type == ev.SigningKeyRegistered.TYPE:
            p["public_key"] = export_jwk(fresh[str(p["participant"])].public_key())
        elif e.type == ev.TranscriptLineRecorded.TYPE and p["line_id"] == "l00006":
            p["text"] = "被告当庭承认全部借款事实。"
        changed.append(dataclasses.replace(e, payload=p))
    oath = next(s for s in sample.signatures if s.purpose == "oath")
    entries = _resign(changed, "oath", oath.signed_hash, fresh)
    hid = sample.doc.meta.hearing_id
    frozen = freeze(hid, entries)
    assert frozen is not None
    entries = _resign(entries, "record", frozen.hash, fresh)
    chosen = answers(frozen, entries)
    return frozen.document, entries, list(chosen.signatures)


def test_whole_history_rewritten(sample: SampleHearing, keys: CourtKeys, tmp_path: Path) -> None:
    # Before the rewrite: the judge's device kept its receipt, an auditor a tree head.
    genuine = seal(sample, keys)
    judge_signed = next(
        e for e in sample.entries if e.type == "document_signed" and e.actor == "p-judge"
    )
    receipt = make_receipt(keys, judge_signed, dt.datetime.now(dt.UTC))
    tlog = TransparencyLog(tmp_path / "tlog")
    leaf = record_leaf(
        sample.doc.meta.hearing_id,
        sample.document_hash,
        hashlib.sha256(genuine).hexdigest(),
        sample.entries[-1],
    )
    asyncio.run(tlog.add(leaf, keys, stamper(keys), "local"))
    bundle = tlog.proof(sample.doc.meta.hearing_id)
    assert bundle is not None
    assert verify(genuine, keys, Anchors(receipts=[receipt], tree_head=bundle)).ok

    doc, entries, sigs = rewrite_history(sample)
    forged = seal(sample, keys, doc=doc, entries=entries, sigs=sigs)
    report = verify(forged, keys)
    assert report.ok, failed(report)  # with only what the file carries, nothing shows

    got = failed(verify(forged, keys, Anchors(receipts=[receipt], tree_head=bundle)))
    assert got["receipt.p-judge.record"].startswith("this record's document hash ")
    assert got["receipt.p-judge.record"].endswith(
        "is not the one p-judge signed ("
        + sample.document_hash[:16]
        + "…): the record was changed after they signed"
    )
    assert got["transparency.inclusion"] == (
        "the logged leaf for this hearing differs from this file (document_hash, sealed_sha256, sealed_head)"
    )


def test_receipt_catches_a_rechained_log_that_keeps_the_document(
    sample: SampleHearing, keys: CourtKeys
) -> None:
    # An event after the judge signed (a later answer) is removed and the log re-chained:
    # the document is unchanged, but the judge's acknowledged chain head is gone.
    judge_signed = next(
        e for e in sample.entries if e.type == "document_signed" and e.actor == "p-judge"
    )
    receipt = make_receipt(keys, judge_signed, dt.datetime.now(dt.UTC))
    gone = next(e for e in sample.entries if e.type == "identity_checked")
    entries = rechain([e for e in sample.entries if e.seq != gone.seq])
    frozen = freeze(sample.doc.meta.hearing_id, entries)
    assert frozen is not None
    entries = _resign(entries, "record", frozen.hash, sample.device_keys)
    got = failed(
        verify(
            seal(
                sample,
                keys,
                doc=frozen.document,
                entries=entries,
                sigs=answers(frozen, entries).signatures,
            ),
            keys,
            Anchors(receipts=[receipt]),
        )
    )
    assert "the record was changed after they signed" in got["receipt.p-judge.record"]


def test_gen_time_a_month_before_the_close(sample: SampleHearing, keys: CourtKeys) -> None:
    from courtroom.record.verification.seal_time import parse_utc

    closed = parse_utc(sample.doc.meta.closed_at)
    early = closed - dt.timedelta(days=31)
    got = failed(verify(seal(sample, keys, clock=lambda: early), keys))
    when = closed.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert got["timestamp.time"] == (
        f"the seal's timestamp (genTime {early.strftime('%Y-%m-%dT%H:%M:%SZ')}) is before the hearing "
        f"closed ({when}): sealed before the record existed, or back-dated"
    )


def test_gen_time_beyond_the_bound(sample: SampleHearing, keys: CourtKeys) -> None:
    from courtroom.record.verification.seal_time import parse_utc

    late = parse_utc(sample.doc.meta.closed_at) + dt.timedelta(days=45)
    got = failed(verify(seal(sample, keys, clock=lambda: late), keys))
    assert "is 45 days after the close" in got["timestamp.time"]
    assert got["timestamp.time"].endswith("more than the 30-day bound")


def test_one_byte_in_the_contents_padding(
    sample: SampleHearing,
    keys: CourtKeys,
    keydir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sealed = seal(sample, keys)
    end = sealed.index(b">", sealed.index(b"/Contents <"))
    bad = bytearray(sealed)
    bad[end - 10] = ord("7")  # deep in the zero padding
    report = verify(bytes(bad), keys)
    got = failed(report)
    assert list(got) == ["pades.padding"]
    assert got["pades.padding"].startswith(
        "CourtSeal: 1 non-zero byte(s) in the /Contents padding after the CMS blob"
    )
    assert got["pades.padding"].endswith(
        "the file was changed outside the signed bytes, so its SHA-256 is no longer the one logged at sealing"
    )
    assert report.check("pades.CourtSeal").status == "ok"  # pyHanko alone says valid
    path = tmp_path / "padded.pdf"
    path.write_bytes(bytes(bad))
    assert main_verify([str(path), "--trust-root", str(keydir / "root.cert.pem")]) == 1
    assert "[FAIL] pades.padding" in capsys.readouterr().out


def test_cli_takes_receipt_and_tree_head(
    sample: SampleHearing,
    keys: CourtKeys,
    keydir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sealed = seal(sample, keys)
    path = tmp_path / "record.pdf"
    path.write_bytes(sealed)
    signed = next(
        e for e in sample.entries if e.type == "document_signed" and e.actor == "p-plaintiff"
    )
    (tmp_path / "receipt.json").write_text(
        json.dumps(make_receipt(keys, signed, dt.datetime.now(dt.UTC)))
    )
    tlog = TransparencyLog(tmp_path / "tlog")
    other = dataclasses.replace(sample.entries[-1], hash="ab" * 32)
    asyncio.run(
        tlog.add(record_leaf("h-other", "00" * 32, "11" * 32, other), keys, stamper(keys), "local")
    )
    leaf = record_leaf(
        sample.doc.meta.hearing_id,
        sample.document_hash,
        hashlib.sha256(sealed).hexdigest(),
        sample.entries[-1],
    )
    asyncio.run(tlog.add(leaf, keys, stamper(keys), "local"))
    (tmp_path / "proof.json").write_text(json.dumps(tlog.proof(sample.doc.meta.hearing_id)))
    root = str(keydir / "root.cert.pem")
    args = [
        str(path),
        "--trust-root",
        root,
        "--receipt",
        str(tmp_path / "receipt.json"),
        "--tree-head",
        str(tmp_path / "proof.json"),
    ]
    assert main_verify(args) == 0
    out = capsys.readouterr().out
    assert "[ OK ] receipt.p-plaintiff.record: this is the record p-plaintiff signed" in out
    assert (
        "[ OK ] transparency.inclusion: this file is leaf 1 of the court's transparency log" in out
    )
    assert "LOCAL time-stamp authority" in out
