"""Exhibit files made at test time: real PDFs (reportlab) with a marked page each, and hostile
ones written object by object with a correct cross-reference table (JavaScript, a
decompression bomb, an encrypted-looking file), so the server's parser reads them as a
real reader would."""

from __future__ import annotations

import io
import zlib

from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

# Each page carries one solid colour block, so a rendered page can be told apart by its pixels.
PAGE_COLOURS = [(0.85, 0.1, 0.1), (0.1, 0.6, 0.1), (0.1, 0.2, 0.85), (0.9, 0.7, 0.1)]


def loan_pdf(pages: int = 3, title: str = "IOU") -> bytes:
    """A real PDF: ``pages`` pages, page N with a big block of PAGE_COLOURS[N-1]."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    for n in range(pages):
        pdf.setFillColorRGB(*PAGE_COLOURS[n % len(PAGE_COLOURS)])
        pdf.rect(50, 200, 495, 500, fill=1, stroke=0)
        pdf.setFillColorRGB(0, 0, 0)
        pdf.drawString(60, 760, f"{title} page {n + 1}")
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def png_photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def raw_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF from object bodies (object 1 is the catalogue), with exact xref offsets."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer_extra,
        xref,
    )
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _one_page(catalogue_extra: bytes = b"", content: bytes = b"", content_extra: bytes = b"") -> list[bytes]:
    return [
        b"<< /Type /Catalog /Pages 2 0 R " + catalogue_extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        _stream(content or b"0 0 1 rg 10 10 100 100 re f", content_extra),
    ]


def plain_pdf() -> bytes:
    return raw_pdf(_one_page())


def javascript_pdf() -> bytes:
    """Opens with a script (/OpenAction /S /JavaScript), as a malicious exhibit would."""
    return raw_pdf(_one_page(b"/OpenAction << /S /JavaScript /JS (app.alert('pwned')) >> "))


def hidden_javascript_pdf() -> bytes:
    """The script's name spelled with #-escapes, reached through the name tree."""
    objs = _one_page(b"/Names << /J#61vaScript 5 0 R >> ")
    objs.append(b"<< /Names [(x) << /S /JavaScript /JS (this.exportDataObject()) >>] >>")
    return raw_pdf(objs)


def bomb_pdf(decoded_mib: int = 1024) -> bytes:
    """A content stream of ~1 MiB that inflates to ``decoded_mib`` MiB of zeros."""
    z = zlib.compressobj(9)
    chunk = b"\0" * (1 << 20)
    packed = b"".join(z.compress(chunk) for _ in range(decoded_mib)) + z.flush()
    return raw_pdf(_one_page(content=packed, content_extra=b"/Filter /FlateDecode "))


def encrypted_pdf() -> bytes:
    return raw_pdf(_one_page(), trailer_extra=b"/Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >> ")
