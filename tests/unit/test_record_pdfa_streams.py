"""PDF/A wants an end-of-line between a stream's data and ``endstream``, outside its /Length.

reportlab writes none; ``courtroom.record.pdfa.eol_before_endstream`` adds it. It used to
skip streams whose data ends in byte 0x0A, taking that data byte for the EOL: about 1 render
in 40 had a compressed stream ending so, and PDFBox Preflight failed the sealed record with
"Stream length is invalid" (rule 1.2.5; seen in CI).
"""

from __future__ import annotations

import random
import re
import zlib

import pytest
from reportlab.pdfbase import pdfdoc

from courtroom.record.pdf import render_pdf
from courtroom.record.pdfa import eol_before_endstream
from courtroom.record.sample import build_sample


def streams_without_eol(pdf: bytes) -> list[str]:
    """Objects whose /Length bytes of data are not followed by an EOL and ``endstream``."""
    bad = []
    for m in re.finditer(rb"(\d+) 0 obj", pdf):
        end = pdf.find(b"endobj", m.end())
        head = re.compile(rb"stream(\r\n|\n)").search(pdf, m.end(), end)
        length = re.compile(rb"/Length (\d+)(?! \d+ R)").search(pdf, m.end(), head.start()) \
            if head else None
        if head is None or length is None:
            continue
        data_end = head.end() + int(length.group(1))
        if not re.match(rb"(\r\n|\n|\r)endstream", pdf[data_end:data_end + 12]):
            bad.append(m.group(1).decode())
    return bad


def formatted(content: bytes) -> bytes:
    stream = pdfdoc.PDFStream(content=content, filters=[])
    document = pdfdoc.PDFDocument()
    with eol_before_endstream():
        return bytes(stream.format(document))


@pytest.mark.parametrize("content", [b"q 1 0 0 1 0 0 cm Q", b"ends in a newline\n", b"\n",
                                     b"\r", b"x\r\n"])
def test_every_stream_gets_its_eol_outside_the_length(content: bytes) -> None:
    out = formatted(content)
    assert out.endswith(content + b"\nendstream\n")
    length = int(re.search(rb"/Length (\d+)", out).group(1))  # type: ignore[union-attr]
    assert length == len(content)
    assert streams_without_eol(b"1 0 obj\n" + out + b"endobj\n") == []


def test_a_compressed_stream_ending_in_0x0a() -> None:
    """The case CI met: Flate output whose last byte happens to be 0x0A."""
    data = next(d for i in range(100_000)
                if (d := zlib.compress(random.Random(i).randbytes(200)))[-1] == 0x0A)
    out = formatted(data)
    assert out.endswith(data + b"\nendstream\n")


def test_rendered_records_have_no_stream_without_its_eol() -> None:
    s = build_sample(20)
    for _ in range(3):
        pdf = render_pdf(s.doc, s.signatures, s.refusals, s.strokes)
        assert streams_without_eol(pdf) == []
