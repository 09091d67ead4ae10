"""``courtroom verify --report``: zh-CN and en, every value from the file escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from courtroom.record.keys import init_keys, load_court_keys
from courtroom.record.pdf import render_pdf
from courtroom.record.sample import build_sample
from courtroom.record.seal import seal_record
from courtroom.record.tsa import LocalTimeStamper, TimeStampAuthority
from courtroom.record.verification.html_report import render_html
from courtroom.record.verification.report import VerificationReport
from courtroom.record.verify import main_verify

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("report")
    init_keys(d / "keys")
    keys = load_court_keys(d / "keys")
    assert keys.tsa_cert is not None and keys.tsa_key is not None
    tsa = TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root])
    s = build_sample(10)
    pdf = seal_record(
        render_pdf(s.doc, s.signatures, s.refusals, s.strokes),
        s.doc, s.entries, s.signatures, keys, LocalTimeStamper(tsa),
        refusals=s.refusals, strokes=s.strokes,
    )  # fmt: skip
    (d / "record.pdf").write_bytes(pdf)
    return d / "record.pdf", d / "keys" / "root.cert.pem"


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["VALID: every check passed", "Signers", "Time-stamp authority", "DEVELOPMENT"]),
        ("zh-CN", ["有效：全部检查通过", "签名人", "时间戳机构", "开发用证书机构", "透明日志"]),
    ],
)
def test_report_in_each_language(
    sealed: tuple[Path, Path], tmp_path: Path, lang: str, words: list[str]
) -> None:
    pdf, root = sealed
    out = tmp_path / "report.html"
    code = main_verify([str(pdf), "--trust-root", str(root), "--report", str(out), "--lang", lang])
    assert code == 0
    html = out.read_text(encoding="utf-8")
    for word in words:
        assert word in html, word
    assert "Court Local Time-Stamp Authority" in html  # the TSA, named
    assert "LOCAL time-stamp authority" in html  # and the warning about it
    assert "pades.CourtSeal" in html and "signature.p-judge.record" in html
    assert "<script" not in html


def test_everything_from_the_file_is_escaped() -> None:
    report = VerificationReport(source=HOSTILE)
    report.add("pages", "failed", HOSTILE)
    report.add(f"receipt.{HOSTILE}.record", "warning", HOSTILE)
    report.facts = {
        "case": {"case_number": HOSTILE, "court": HOSTILE, "closed_at": HOSTILE},
        "document_hash": HOSTILE,
        "signers": [{"id": HOSTILE, "name": HOSTILE, "role": HOSTILE, "purpose": "record",
                     "at": HOSTILE}],
        "refusals": [{"id": "x", "name": HOSTILE, "role": HOSTILE, "purpose": HOSTILE,
                      "at": HOSTILE, "reason": HOSTILE}],
        "timestamps": [{"field": HOSTILE, "gen_time": HOSTILE, "tsa": HOSTILE, "policy": ""}],
        "trust_root": HOSTILE,
    }  # fmt: skip
    for lang in ("en", "zh-CN"):
        html = render_html(report, lang)
        assert "<script" not in html and "<img" not in html and 'onerror="' not in html
        assert html.count("&lt;script&gt;") >= 10
        assert "default-src 'none'" in html
