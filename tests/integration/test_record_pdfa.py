"""PDF/A-3b: checked with qpdf --check and Apache PDFBox Preflight (Debian libpdfbox2-java).

Preflight validates PDF/A-1b only (veraPDF, which knows PDF/A-3, is on neither Debian nor
PyPI). The record must pass every rule except those PDF/A-3 relaxes, each listed below;
what A-3 asks for instead (the /AF associations, zero-size invisible signature widgets)
is asserted here directly.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from courtroom.record.keys import init_keys, load_court_keys
from courtroom.record.pdf import render_pdf
from courtroom.record.pdfa import hoist_namespaces
from courtroom.record.sample import build_sample
from courtroom.record.seal import seal_record
from courtroom.record.tsa import LocalTimeStamper, TimeStampAuthority

JARS = [
    f"/usr/share/java/{j}.jar"
    for j in ("preflight", "pdfbox2", "fontbox2", "xmpbox", "commons-logging")
] + ["/usr/share/java/javax.activation.jar", "/usr/share/java/jaxb-api.jar"]
# PDF/A-1 rules that PDF/A-3 relaxes (ISO 19005-3): the part number itself, embedded
# files (allowed when associated through /AF), soft masks (transparency is allowed from
# A-2 on), and an appearance for widgets whose /Rect has zero size (exempt from A-2 on).
A1_ONLY = {
    "7.11.2": "part must be 1",
    "1.2.9": "EmbeddedFile entry",
    "1.4.7": "EmbeddedFile entry",
    "2.2.2": "Soft Mask",
    "5.3.1": "widget annotation lacks an appearance dictionary",
}


@pytest.fixture(scope="module")
def sealed_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pdfa")
    init_keys(d / "keys")
    keys = load_court_keys(d / "keys")
    assert keys.tsa_cert is not None and keys.tsa_key is not None
    tsa = TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root])
    s = build_sample(80)
    pdf = seal_record(
        render_pdf(s.doc, s.signatures, s.refusals, s.strokes),
        s.doc, s.entries, s.signatures, keys, LocalTimeStamper(tsa),
        refusals=s.refusals, strokes=s.strokes,
    )  # fmt: skip
    path = d / "record.pdf"
    path.write_bytes(pdf)
    return path


def test_qpdf_check(sealed_path: Path) -> None:
    assert shutil.which("qpdf"), "qpdf is not installed (scripts/install test)"
    done = subprocess.run(["qpdf", "--check", str(sealed_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No syntax or stream encoding errors found" in done.stdout


def test_pdfbox_preflight_finds_only_what_pdfa3_allows(sealed_path: Path) -> None:
    assert shutil.which("java") and all(Path(j).exists() for j in JARS), (
        "java or libpdfbox2-java missing (scripts/install test)"
    )
    done = subprocess.run(
        ["java", "-cp", ":".join(JARS), "org.apache.pdfbox.preflight.Validator_A1b",
         str(sealed_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    found = re.findall(r"^(\d+(?:\.\d+)+) : (.*)$", done.stdout, flags=re.M)
    assert found, done.stdout + done.stderr
    others = [(rule, text) for rule, text in found if rule not in A1_ONLY]
    assert others == [], others
    for rule, text in found:
        assert A1_ONLY[rule] in text, (rule, text)


def test_pdfa3_parts(sealed_path: Path) -> None:
    reader = PdfFileReader(io.BytesIO(sealed_path.read_bytes()))
    root = reader.root
    intent = root["/OutputIntents"][0]
    assert intent["/S"] == "/GTS_PDFA1" and intent["/DestOutputProfile"]["/N"] == 3
    xmp = root["/Metadata"].data
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp
    assert b"<dc:title xmlns" not in xmp  # namespaces hoisted onto rdf:Description
    info = reader.trailer["/Info"]
    assert "/Keywords" not in info and "/Trapped" not in info
    assert f'pdf:Producer="{info["/Producer"]}"'.encode() in xmp  # pyHanko's, in both
    assert str(info["/Title"]).encode() in xmp
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    specs = [names[i + 1] for i in range(0, len(names), 2)]
    assert len(root["/AF"]) == len(specs) >= 4
    assert all("/AFRelationship" in spec for spec in specs)
    for field in root["/AcroForm"]["/Fields"]:
        widget = field.get_object()
        assert [float(v) for v in widget["/Rect"]] == [0, 0, 0, 0]
        assert int(widget["/F"]) & 4  # printable, not hidden


def test_hoist_namespaces() -> None:
    xmp = (
        b'<rdf:Description xmlns:xmp="x" rdf:about=""><dc:title xmlns:dc="d">'
        b'<rdf:Alt/></dc:title><dc:creator xmlns:dc="d"/></rdf:Description>'
    )
    assert hoist_namespaces(xmp) == (
        b'<rdf:Description xmlns:xmp="x" rdf:about="" xmlns:dc="d"><dc:title>'
        b"<rdf:Alt/></dc:title><dc:creator/></rdf:Description>"
    )


def test_full_pages_verifies_records_rendered_before_the_eol_fix(tmp_path: Path) -> None:
    """``render_pdf`` used to leave out the EOL before ``endstream`` when a stream's data ended
    in byte 0x0A (about 1 render in 40; Preflight rule 1.2.5). Records sealed then still
    verify with ``--full-pages``: the verifier re-renders with the old rule when the new one
    differs, and says so. A record of today verifies with the new rule."""
    from courtroom.record.verify import verify_record

    init_keys(tmp_path / "keys")
    keys = load_court_keys(tmp_path / "keys")
    assert keys.tsa_cert is not None and keys.tsa_key is not None
    tsa = LocalTimeStamper(TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root]))
    for _ in range(400):  # a sample whose pages the two rules render differently
        s = build_sample(10)
        old = render_pdf(s.doc, s.signatures, s.refusals, s.strokes, legacy_eol=True)
        if old != render_pdf(s.doc, s.signatures, s.refusals, s.strokes):
            break
    else:
        pytest.fail("no sample rendered differently in 400 tries (1 in 40 expected)")
    for pages, says_older in ((old, True), (render_pdf(s.doc, s.signatures, s.refusals,
                                                        s.strokes), False)):
        sealed = seal_record(pages, s.doc, s.entries, s.signatures, keys, tsa,
                             refusals=s.refusals, strokes=s.strokes)
        report = verify_record(sealed, trust_root=keys.root, full_pages=True)
        check = [c for c in report.checks if c.name == "pages.full"]
        assert len(check) == 1 and check[0].status == "ok", check
        assert ("before 2026-11-26" in check[0].message) is says_older, check[0].message
