"""Attacks by someone who holds the court's keys and re-seals with the project's own
library (``insider.py``): each is reported by ``courtroom verify`` with a specific
message, given the log the record carries, a signer's receipt or a tree head."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from insider import (
    Parts,
    drop_line_and_rechain,
    poke_padding,
    replace_line,
    reseal,
    resign_after_rechain,
    rewrite_history,
    stamper,
    swap_keys_in_record_json,
)

from courtroom.record.keys import CourtKeys
from courtroom.record.receipts import make_receipt
from courtroom.record.sample import SampleHearing, build_sample
from courtroom.record.transparency import TransparencyLog, record_leaf
from courtroom.record.verification.seal_time import parse_utc
from courtroom.record.verify import Anchors, VerificationReport, main_verify, verify_record


@pytest.fixture(scope="module")
def sample() -> SampleHearing:
    return build_sample(24)


@pytest.fixture(scope="module")
def parts(sample: SampleHearing) -> Parts:
    return Parts(sample.doc, sample.entries, sample.signatures, sample.refusals, sample.strokes)


@pytest.fixture(scope="module")
def genuine(parts: Parts, keys: CourtKeys) -> bytes:
    return reseal(parts, keys)


def verify(pdf: bytes, keys: CourtKeys, anchors: Anchors | None = None) -> VerificationReport:
    return verify_record(pdf, trust_root=keys.root, anchors=anchors)


def failed(report: VerificationReport) -> dict[str, str]:
    return {c.name: c.message for c in report.failures}


def signed_event(sample: SampleHearing, pid: str) -> int:
    return next(e.seq for e in sample.entries if e.type == "document_signed" and e.actor == pid)


def test_genuine_record_reconciles(genuine: bytes, keys: CourtKeys) -> None:
    report = verify(genuine, keys)
    assert report.ok, failed(report)
    status = {c.name: c.status for c in report.checks}
    for name in ("record.rebuilt", "signatures.log", "signatures.expected", "pages"):
        assert status[name] == "ok", name
    assert status["pades.padding"] == status["timestamp.time"] == "ok"
    authority = report.check("timestamp.authority")
    assert authority.status == "warning" and "LOCAL time-stamp authority" in authority.message
    assert "Court Local Time-Stamp Authority" in authority.message


def test_keys_swapped_in_record_json_and_resigned(parts: Parts, keys: CourtKeys) -> None:
    got = failed(verify(reseal(swap_keys_in_record_json(parts), keys), keys))
    assert got["record.rebuilt"].startswith(
        "record.json differs from the document rebuilt from the audit log: "
        "participant p-judge public_key"
    )
    assert "unregistered key; the log registers another at seq" in got["signature.p-judge.record"]
    assert "unregistered key" in got["signature.p-witness.oath"]
    assert "(signature dropped)" in got["signatures.log"]


def test_page_shows_another_line_than_record_json(parts: Parts, keys: CourtKeys) -> None:
    shown = dataclasses.replace(
        parts, pages_of=replace_line(parts.doc, 5, "被告当庭承认全部借款事实。")
    )
    got = failed(verify(reseal(shown, keys), keys))
    assert list(got) == ["pages"]
    assert got["pages"].startswith(
        "the sealed pages differ from record.json: page 1 shows something other than record.json"
    )


def test_refusal_dropped(parts: Parts, keys: CourtKeys) -> None:
    got = failed(verify(reseal(dataclasses.replace(parts, refusals=[]), keys), keys))
    assert list(got) == ["signatures.log"]
    assert got["signatures.log"] == (
        f"signing_refused event by p-clerk (record, {parts.refusals[0].at}) is missing from "
        "record.json (refusal dropped)"
    )


def test_signature_dropped(parts: Parts, sample: SampleHearing, keys: CourtKeys) -> None:
    sigs = [s for s in parts.sigs if s.participant_id != "p-defendant"]
    got = failed(verify(reseal(dataclasses.replace(parts, sigs=sigs), keys), keys))
    assert list(got) == ["signatures.log"]
    assert got["signatures.log"] == (
        f"document_signed event seq {signed_event(sample, 'p-defendant')} (p-defendant, record) "
        "is missing from record.json (signature dropped)"
    )


def test_log_line_removed_rechained_stale_signatures_dropped(parts: Parts, keys: CourtKeys) -> None:
    forged = drop_line_and_rechain(parts, "l00006", keep_stale_events=True)
    got = failed(verify(reseal(forged, keys), keys))
    assert "signed record hash" in got["signatures.log"]
    assert "the log before the close was changed after they signed" in got["signatures.log"]
    assert got["signatures.summary"].startswith("no one signed the record")

    # The stale events dropped as well: the log is consistent, but no one signed.
    forged = drop_line_and_rechain(parts, "l00006", keep_stale_events=False)
    report = verify(reseal(forged, keys), keys)
    assert failed(report) == {
        "signatures.summary": "no one signed the record "
        "(0 record signature(s), 1 oath signature(s), 1 refusal(s))"
    }
    assert report.check("signatures.expected").message == (
        "expected to sign the record but neither signed nor refused: 赵审判 (judge), "
        "孙原告 (Sun Yuan) (plaintiff), 李被告 (defendant)"
    )


def _anchors(sample: SampleHearing, genuine: bytes, keys: CourtKeys, tmp: Path) -> Anchors:
    """What outsiders kept: the judge's receipt and an auditor's tree-head proof."""
    judge = next(e for e in sample.entries if e.type == "document_signed" and e.actor == "p-judge")
    tlog = TransparencyLog(tmp / "tlog")
    sha = hashlib.sha256(genuine).hexdigest()
    leaf = record_leaf(sample.doc.meta.hearing_id, sample.document_hash, sha, sample.entries[-1])
    asyncio.run(tlog.add(leaf, keys, stamper(keys), "local"))
    bundle = tlog.proof(sample.doc.meta.hearing_id)
    assert bundle is not None
    return Anchors([make_receipt(keys, judge, dt.datetime.now(dt.UTC))], bundle)


def test_whole_history_rewritten(
    parts: Parts, sample: SampleHearing, genuine: bytes, keys: CourtKeys, tmp_path: Path
) -> None:
    anchors = _anchors(sample, genuine, keys, tmp_path)
    assert verify(genuine, keys, anchors).ok
    forged = reseal(rewrite_history(parts, "l00006"), keys)
    report = verify(forged, keys)
    assert report.ok, failed(report)  # with only what the file carries, nothing shows

    got = failed(verify(forged, keys, anchors))
    assert got["receipt.p-judge.record"].startswith("this record's document hash ")
    assert got["receipt.p-judge.record"].endswith(
        f"is not the one p-judge signed ({sample.document_hash[:16]}…): the record was "
        "changed after they signed"
    )
    assert got["transparency.inclusion"] == (
        "the logged leaf for this hearing differs from this file "
        "(document_hash, sealed_sha256, sealed_head)"
    )


def test_receipt_catches_a_rechained_log(
    parts: Parts, sample: SampleHearing, genuine: bytes, keys: CourtKeys, tmp_path: Path
) -> None:
    # An identity check removed, re-chained, re-frozen, re-signed with the real device keys
    # (a court that also held them): the judge's acknowledged chain head is gone.
    gone = next(e.seq for e in sample.entries if e.type == "identity_checked")
    forged = resign_after_rechain(parts, gone, sample.device_keys)
    anchors = _anchors(sample, genuine, keys, tmp_path)
    witness = next(
        e for e in sample.entries if e.type == "document_signed" and e.actor == "p-witness"
    )
    oath_receipt = make_receipt(keys, witness, dt.datetime.now(dt.UTC))
    receipts = [*anchors.receipts, oath_receipt]
    got = failed(verify(reseal(forged, keys), keys, Anchors(receipts=receipts)))
    assert list(got) == ["receipt.p-judge.record", "receipt.p-witness.oath"]
    assert "the record was changed after they signed" in got["receipt.p-judge.record"]
    assert got["receipt.p-witness.oath"] == (
        f"the audit log has no event seq {witness.seq} with hash {witness.hash[:16]}…, which "
        "the court acknowledged to p-witness: the log was rewritten after they signed"
    )


def test_gen_time_a_month_before_the_close(parts: Parts, keys: CourtKeys) -> None:
    closed = parse_utc(parts.doc.meta.closed_at)
    early = closed - dt.timedelta(days=31)
    got = failed(verify(reseal(parts, keys, clock=lambda: early), keys))
    assert got["timestamp.time"] == (
        f"the seal's timestamp (genTime {early:%Y-%m-%dT%H:%M:%SZ}) is before the hearing "
        f"closed ({closed:%Y-%m-%dT%H:%M:%SZ}): sealed before the record existed, or back-dated"
    )


def test_gen_time_beyond_the_bound(parts: Parts, keys: CourtKeys) -> None:
    late = parse_utc(parts.doc.meta.closed_at) + dt.timedelta(days=45)
    got = failed(verify(reseal(parts, keys, clock=lambda: late), keys))
    assert "is 45 days after the close" in got["timestamp.time"]
    assert got["timestamp.time"].endswith("more than the 30-day bound")


def test_one_byte_in_the_contents_padding(
    genuine: bytes,
    keys: CourtKeys,
    keydir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = poke_padding(genuine)
    report = verify(bad, keys)
    got = failed(report)
    # The seal's padding is inside the document timestamp's signed bytes (B-LTA), so the
    # timestamp fails too; pyHanko alone would call the seal valid.
    assert {n for n in got if not n.startswith("pades.Timestamp")} == {
        "pades.padding",
        "pades.CourtSeal",
    }
    assert "signed bytes were altered" in got["pades.CourtSeal"]
    assert got["pades.padding"].startswith(
        "CourtSeal: 1 non-zero byte(s) in the /Contents padding after the CMS blob"
    )
    assert got["pades.padding"].endswith(
        "the file was changed outside the signed bytes, so its SHA-256 is no longer the one "
        "logged at sealing"
    )
    path = tmp_path / "padded.pdf"
    path.write_bytes(bad)
    assert main_verify([str(path), "--trust-root", str(keydir / "root.cert.pem")]) == 1
    assert "[FAIL] pades.padding" in capsys.readouterr().out


def test_cli_takes_receipt_and_tree_head(
    sample: SampleHearing,
    genuine: bytes,
    keys: CourtKeys,
    keydir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "record.pdf"
    path.write_bytes(genuine)
    signed = next(
        e for e in sample.entries if e.type == "document_signed" and e.actor == "p-plaintiff"
    )
    (tmp_path / "receipt.json").write_text(
        json.dumps(make_receipt(keys, signed, dt.datetime.now(dt.UTC)))
    )
    tlog = TransparencyLog(tmp_path / "tlog")
    other = dataclasses.replace(sample.entries[-1], hash="ab" * 32)
    ts = stamper(keys)
    asyncio.run(tlog.add(record_leaf("h-other", "00" * 32, "11" * 32, other), keys, ts, "local"))
    sha = hashlib.sha256(genuine).hexdigest()
    leaf = record_leaf(sample.doc.meta.hearing_id, sample.document_hash, sha, sample.entries[-1])
    asyncio.run(tlog.add(leaf, keys, ts, "local"))
    (tmp_path / "proof.json").write_text(json.dumps(tlog.proof(sample.doc.meta.hearing_id)))
    args = [str(path), "--trust-root", str(keydir / "root.cert.pem")]
    args += [
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
