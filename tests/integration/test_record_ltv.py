"""Long-term validation: B-LTA at seal time, archive-renew, and the clock moved forward.

Seal and TSA certificates here live 30 days (the root ten years). A record verified 60
days later must say "expired" unless, before day 30, archive-renew added a document
timestamp from a renewed TSA certificate; then it verifies, its chain walked back.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from courtroom.record.archive import archive_renew
from courtroom.record.keys import CourtKeys, init_keys, load_court_keys, renew_tsa
from courtroom.record.pdf import render_pdf
from courtroom.record.sample import SampleHearing, build_sample
from courtroom.record.seal import seal_record
from courtroom.record.tsa import LocalTimeStamper, TimeStampAuthority
from courtroom.record.verify import VerificationReport, main_verify, verify_record

T0 = dt.datetime.now(dt.UTC)
RENEWED_AT = T0 + dt.timedelta(days=20)
LATER = T0 + dt.timedelta(days=60)


def stamper(keys: CourtKeys, at: dt.datetime | None = None) -> LocalTimeStamper:
    assert keys.tsa_cert is not None and keys.tsa_key is not None
    clock = {} if at is None else {"clock": lambda: at}
    tsa = TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root], **clock)  # type: ignore[arg-type]
    return LocalTimeStamper(tsa)


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ltv-keys")
    init_keys(d, leaf_days=30)
    return d


@pytest.fixture(scope="module")
def sample() -> SampleHearing:
    return build_sample(12)


@pytest.fixture(scope="module")
def sealed(keydir: Path, sample: SampleHearing) -> bytes:
    keys = load_court_keys(keydir)
    s = sample
    rendered = render_pdf(s.doc, s.signatures, s.refusals, s.strokes)
    return seal_record(
        rendered, s.doc, s.entries, s.signatures, keys, stamper(keys),
        refusals=s.refusals, strokes=s.strokes,
    )  # fmt: skip


@pytest.fixture(scope="module")
def renewed(sealed: bytes, keydir: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    d = tmp_path_factory.mktemp("renewed-keys")
    for f in keydir.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    renew_tsa(d, days=3650)
    keys = load_court_keys(d)
    return archive_renew(sealed, keys, stamper(keys, RENEWED_AT), now=RENEWED_AT)


def failed(report: VerificationReport) -> dict[str, str]:
    return {c.name: c.message for c in report.failures}


def test_sealed_record_is_b_lta(sealed: bytes, keydir: Path) -> None:
    report = verify_record(sealed, trust_root=load_court_keys(keydir).root)
    assert report.ok, failed(report)
    assert "PAdES B-LTA" in report.check("pades.CourtSeal").message
    kinds = [s.sig_object_type for s in PdfFileReader(io.BytesIO(sealed)).embedded_signatures]
    assert kinds == ["/Sig", "/DocTimeStamp"]


def test_past_expiry_without_renewal_says_expired(sealed: bytes, keydir: Path) -> None:
    got = failed(verify_record(sealed, trust_root=load_court_keys(keydir).root, at=LATER))
    assert got["pades.CourtSeal"].startswith("expired: "), got
    assert "archive-renew" in got["pades.CourtSeal"]
    assert all("does not chain" not in m for m in got.values())
    assert set(got) <= {"pades.CourtSeal"} | {n for n in got if n.startswith("pades.Timestamp")}


def test_archive_renew_adds_a_timestamp_and_still_verifies(
    sealed: bytes, renewed: bytes, keydir: Path
) -> None:
    assert renewed.startswith(sealed)  # an incremental update: every earlier byte kept
    sigs = PdfFileReader(io.BytesIO(renewed)).embedded_signatures
    assert [s.sig_object_type for s in sigs] == ["/Sig", "/DocTimeStamp", "/DocTimeStamp"]
    root = load_court_keys(keydir).root
    report = verify_record(renewed, trust_root=root, at=RENEWED_AT + dt.timedelta(hours=1))
    assert report.ok, failed(report)


def test_past_expiry_with_renewal_verifies(renewed: bytes, keydir: Path) -> None:
    report = verify_record(renewed, trust_root=load_court_keys(keydir).root, at=LATER)
    assert report.ok, failed(report)
    assert report.check("pages").status == "ok"


def test_cli_at_and_archive_renew(
    sealed: bytes, keydir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from courtroom.record.archive import main as main_archive

    path = tmp_path / "record.pdf"
    path.write_bytes(sealed)
    root = str(keydir / "root.cert.pem")
    assert main_verify([str(path), "--trust-root", root, "--at", LATER.isoformat()]) == 1
    assert "expired: " in capsys.readouterr().out
    assert main_archive([str(path), "--keys", str(keydir)]) == 0
    assert len(PdfFileReader(io.BytesIO(path.read_bytes())).embedded_signatures) == 3
    assert main_verify([str(path), "--trust-root", root]) == 0


def test_b_t_record_past_expiry_says_expired(keydir: Path, sample: SampleHearing) -> None:
    keys = load_court_keys(keydir)
    s = sample
    rendered = render_pdf(s.doc, s.signatures, s.refusals, s.strokes)
    b_t = seal_record(
        rendered, s.doc, s.entries, s.signatures, keys, stamper(keys),
        refusals=s.refusals, strokes=s.strokes, lta=False,
    )  # fmt: skip
    assert verify_record(b_t, trust_root=keys.root).ok
    got = failed(verify_record(b_t, trust_root=keys.root, at=LATER))
    assert got["pades.CourtSeal"].startswith("expired: the seal certificate expired on"), got
    assert "no document timestamp chain (PAdES B-LTA)" in got["pades.CourtSeal"]
