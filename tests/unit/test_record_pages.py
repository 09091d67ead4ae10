"""The page check reads what each page shows, and fails closed on what could hide text."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from courtroom.record.pdf import render_pdf
from courtroom.record.sample import SampleHearing, build_sample
from courtroom.record.verification.pages import check_pages
from courtroom.record.verification.report import VerificationReport


@pytest.fixture(scope="module")
def sample() -> SampleHearing:
    return build_sample(90)


@pytest.fixture(scope="module")
def rendered(sample: SampleHearing) -> bytes:
    return render_pdf(sample.doc, sample.signatures, sample.refusals, sample.strokes)


def pages_check(
    pdf: bytes, sample: SampleHearing, strokes: list[bytes] | None = None
) -> tuple[str, str]:
    report = VerificationReport()
    manifest = {"rendered_pdf": {"length": len(pdf)}}
    pngs = list(sample.strokes.values()) if strokes is None else strokes
    check_pages(pdf, manifest, sample.doc, sample.signatures, sample.refusals, report, pngs)
    c = report.check("pages")
    return c.status, c.message


def edit_page(pdf: bytes, index: int, edit: Callable[[bytes], bytes]) -> bytes:
    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref, _ = w.find_page_for_modification(index)  # type: ignore[no-untyped-call]
    page = page_ref.get_object()
    data = page["/Contents"].get_object().data
    page["/Contents"] = w.add_object(generic.StreamObject(stream_data=edit(data)))
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def test_genuine_pages_pass(rendered: bytes, sample: SampleHearing) -> None:
    assert pages_check(rendered, sample)[0] == "ok"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.replace(b"(00:01:24)", b"(00:01:25)", 1), "page 2 shows something other"),
        (lambda d: d.replace(b"0 0 0 rg", b"1 1 1 rg", 1), "colour other than black"),
        (lambda d: d + b"\nq 1 1 1 rg 0 0 595 842 re f Q\n", "painted over the text"),
        (lambda d: b"0 0 1 1 re W n\n" + d, "operator 'W' not allowed"),
        (lambda d: b"3 Tr\n" + d, "operator 'Tr' not allowed"),
        (lambda d: b"1 0 0 1 0 -2000 cm\n" + d, "outside the page"),
        (lambda d: b".001 0 0 .001 0 0 cm\n" + d, "scaled"),
        (lambda d: d.replace(b"Tj", b"Tj T* (\\001) Tj", 1), "page 2 shows something other"),
        (lambda d: d + b"\n(unbalanced ( paren) Tj\n", "unexpected"),
        (lambda d: d + b"\nq 0 0 0 rg 300 20 40 5 re f Q\n", "other than a light rectangle"),
        (lambda d: d + b"\nq 0 0 0 rg 300 20 m 310 30 l 300 30 l f Q\n", "light rectangle"),
        (lambda d: d + b"\nq 1 w 300 20 m 310 40 l S Q\n", "other than a table rule"),
        (lambda d: d + b"\nq 1 w 300 20 m 310 20 l S Q\n", "other than a table rule"),
    ],
)
def test_hidden_or_changed_text_fails(
    rendered: bytes, sample: SampleHearing, edit: Callable[[bytes], bytes], message: str
) -> None:
    status, text = pages_check(edit_page(rendered, 1, edit), sample)
    assert status == "failed" and message in text, text


def test_footer_of_another_page_fails(rendered: bytes, sample: SampleHearing) -> None:
    forged = edit_page(rendered, 1, lambda d: d.replace(b" 2 ", b" 7 ", 1))
    status, text = pages_check(forged, sample)
    assert status == "failed" and "page 2" in text and "footer" in text, text


def test_images_must_be_the_attached_strokes(rendered: bytes, sample: SampleHearing) -> None:
    status, text = pages_check(rendered, sample, strokes=[])
    assert status == "failed" and "not one of the attached signature strokes" in text, text
    other = sorted(sample.strokes.values())[:1]  # one stroke attached, three drawn
    status, text = pages_check(rendered, sample, strokes=other)
    assert status == "failed" and "not one of the attached signature strokes" in text, text
