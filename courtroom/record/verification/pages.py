"""The sealed pages against record.json.

The default check (``check_pages``) reads what each sealed page shows, without laying the
record out again (laying out 2,000 lines costs reportlab 1.5-2.5 s, nearly all of it in
line breaking and table splitting, not in fonts or compression):

* every font subset on a page is byte for byte what the reference font gives for the
  characters its /ToUnicode names (so each code shows the glyph of that character), with
  the same advance widths;
* the text drawn on the pages, in drawing order, with whitespace removed, is exactly the
  text record.json renders to (``pdf.drawn_texts``), page after page, each page a
  contiguous slice of it; a table header repeated at the top of a page is allowed;
* each page's footer names the case, the document hash and its own page number;
* the text is visible: black, upright, at least 6 pt, on the page, nothing painted over it
  afterwards, no clipping, render modes, spacing or scaling operators, no forms;
* nothing else is drawn that could read as text: fills are light rectangles (table
  backgrounds), strokes long thin horizontal rules, and images exactly the attached
  signature strokes (their samples and alpha compared with the PNGs).

What it does not prove is the placement inside a page: where the line breaks fall or
that two runs are not drawn one over the other. ``check_pages_full`` (``courtroom verify
--full-pages``) re-renders the pages and compares the bytes; a verifier with another
reportlab (or with rl_accel installed, which formats numbers differently) or another font
file renders other bytes and reports that check as failed.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from courtroom.record.document import RecordDocument
from courtroom.record.seal import stroke_attachment_name
from courtroom.record.signatures import ParticipantSignature, SignatureRefusal
from courtroom.record.verification.page_text import (
    FontInfo,
    PageContentError,
    PageReader,
    clear_caches,
)
from courtroom.record.verification.report import VerificationReport

_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_PAIR = re.compile(rb"<([0-9A-Fa-f]{2})>\s*<([0-9A-Fa-f]{4,8})>")
_FOOTER_Y = 14.0 * 72 / 25.4  # footers sit at 10 mm; the body ends at 18 mm
_HEADERS = ("时间Time发言人Speaker内容Text", "角色Role姓名Name身份核验Identitycheck")


def _squash(text: str) -> str:
    return "".join(text.split())


class _Fonts:
    """Verified font subsets, cached by object number across pages."""

    def __init__(self) -> None:
        from reportlab.pdfbase import pdfmetrics

        from courtroom.record.pdf import _load_font, font_spec

        self.face: Any = pdfmetrics.getFont(_load_font(*font_spec()).name).face
        self.cache: dict[int, FontInfo] = {}

    def get(self, ref: Any) -> FontInfo:
        key = int(getattr(ref, "idnum", id(ref)))
        if key not in self.cache:
            self.cache[key] = self._verify(ref.get_object())
        return self.cache[key]

    def _verify(self, font: Any) -> FontInfo:
        if font.get("/Subtype") != "/TrueType" or int(font.get("/FirstChar", -1)) != 0:
            raise PageContentError("a font that is not one of the record font's subsets")
        cmap = _BFCHAR.search(font["/ToUnicode"].get_object().data)
        pairs = _PAIR.findall(cmap.group(1)) if cmap else []
        if [int(c, 16) for c, _ in pairs] != list(range(len(pairs))) or not pairs:
            raise PageContentError("a font subset's /ToUnicode is not a plain code list")
        subset = [int(u, 16) for _, u in pairs]
        program = font["/FontDescriptor"]["/FontFile2"].get_object().data
        if program != self.face.makeSubset(subset):
            raise PageContentError("a font subset's glyphs are not the record font's glyphs")
        widths = tuple(float(self.face.getCharWidth(c)) for c in subset)
        shown = [float(w) for w in font["/Widths"]]
        if len(shown) != len(widths) or any(
            abs(a - b) > 0.01 for a, b in zip(shown, widths, strict=True)
        ):
            raise PageContentError("a font subset's widths are not the record font's")
        return FontInfo(tuple(chr(c) for c in subset), widths)


def _data(stream: Any) -> bytes:
    """A content stream's bytes; zlib directly for the usual lone /FlateDecode."""
    flt = stream.get("/Filter")
    if flt in ("/FlateDecode", ["/FlateDecode"]) and "/DecodeParms" not in stream:
        return zlib.decompress(stream.encoded_data)
    return bytes(stream.data)


def _resolve(obj: Any) -> Any:
    return obj.get_object() if hasattr(obj, "get_object") else obj


class _Images:
    """The stroke images a page may show: exactly the attached PNGs, as reportlab embeds
    them (RGB samples, the alpha channel as /SMask), each checked once by object number."""

    def __init__(self, strokes: Sequence[bytes]) -> None:
        from PIL import Image

        self.allowed: set[tuple[bytes, bytes | None]] = set()
        for png in strokes:
            with Image.open(io.BytesIO(png)) as im:
                rgba = im.convert("RGBA")
                alpha = rgba.getchannel("A").tobytes() if im.mode in ("RGBA", "LA") else None
                self.allowed.add((rgba.convert("RGB").tobytes(), alpha))
        self.seen: dict[int, bool] = {}

    def ok(self, ref: Any) -> bool:
        key = int(getattr(ref, "idnum", id(ref)))
        if key not in self.seen:
            x = ref.get_object()
            smask = x["/SMask"] if "/SMask" in x else None  # noqa: SIM401 (.get keeps the reference)
            found = (bytes(x.data), bytes(smask.data) if smask is not None else None)
            self.seen[key] = x.get("/Subtype") == "/Image" and found in self.allowed
        return self.seen[key]


def _page_reader(
    page: Any, inherited: Mapping[str, Any], fonts: _Fonts, images: _Images
) -> PageReader:
    res = _resolve(page.get("/Resources", inherited.get("/Resources"))) or {}
    font_dict = _resolve(res.get("/Font"))
    xobjects = _resolve(res.get("/XObject"))
    infos = {str(k)[1:]: fonts.get(font_dict.raw_get(k)) for k in font_dict} if font_dict else {}

    def is_image(name: str) -> bool:
        return bool(xobjects) and f"/{name}" in xobjects and images.ok(xobjects.raw_get(f"/{name}"))

    box = [float(v) for v in page.get("/MediaBox", inherited.get("/MediaBox"))]
    return PageReader(infos, is_image, (box[0], box[1], box[2], box[3]))


def _walk(node: Any, inherited: dict[str, Any], depth: int = 0) -> Iterator[tuple[Any, Any]]:
    """Each page in order, with the attributes it inherits (one pass over the tree)."""
    if depth > 32:
        raise PageContentError("the page tree is too deep")
    here = dict(inherited)
    for key in ("/Resources", "/MediaBox"):
        if key in node:
            here[key] = node[key]
    if node.get("/Type") == "/Page":
        yield node, here
        return
    for kid in node["/Kids"]:
        yield from _walk(kid.get_object(), here, depth + 1)


def _pages(pdf: bytes, strokes: Sequence[bytes] = ()) -> list[tuple[str, str]]:
    """(footer, body) text of each page, whitespace removed."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    fonts, images = _Fonts(), _Images(strokes)
    clear_caches()  # each verification parses its own file (and is timed so)
    out = []
    for n, (page, inherited) in enumerate(_walk(reader.root["/Pages"], {}), start=1):
        if "/Annots" in page:
            raise PageContentError(f"page {n} carries annotations")
        contents: Any = page["/Contents"]
        parts = contents if isinstance(contents, list) else [contents]
        reader_ = _page_reader(page, inherited, fonts, images)
        runs = reader_.read(b"\n".join(_data(p.get_object()) for p in parts))
        footer = "".join(r.text for r in runs if r.box[1] < _FOOTER_Y)
        body = "".join(r.text for r in runs if r.box[1] >= _FOOTER_Y)
        out.append((_squash(footer), _squash(body)))
    return out


def _compare(
    pages: Sequence[tuple[str, str]], expected: str, footer: str
) -> tuple[int, str] | None:
    from courtroom.record.pdf import page_number_text

    pos = 0
    for n, (foot, body) in enumerate(pages, start=1):
        if foot != _squash(footer + page_number_text(n)):
            return n, "its footer does not name this record's case, hash and page"
        for h in _HEADERS:
            if n > 1 and body.startswith(h) and not expected.startswith(h, pos):
                body = body[len(h) :]
                break
        if not expected.startswith(body, pos):
            at = next((i for i, c in enumerate(body) if expected[pos + i : pos + i + 1] != c), 0)
            return n, f"from {body[at : at + 16]!r} on, where record.json has " + repr(
                expected[pos + at : pos + at + 16]
            )
        pos += len(body)
    if pos != len(expected):
        return len(pages), f"record.json goes on with {expected[pos : pos + 16]!r}"
    return None


def check_pages(
    pdf: bytes,
    manifest: Mapping[str, Any] | None,
    doc: RecordDocument,
    sigs: Sequence[ParticipantSignature],
    refusals: Sequence[SignatureRefusal],
    report: VerificationReport,
    strokes: Sequence[bytes] = (),
) -> None:
    """The text each sealed page shows is record.json's, visibly (see the module doc)."""
    from courtroom.record.pdf import drawn_texts, footer_text

    if manifest is None:
        report.add("pages", "skipped", "no manifest: the rendered revision is unknown")
        return
    length = int(manifest["rendered_pdf"]["length"])
    expected = _squash("".join(drawn_texts(doc, sigs, refusals)))
    try:
        problem = _compare(_pages(pdf[:length], strokes), expected, footer_text(doc))
    except PageContentError as exc:
        report.fail("pages", f"the sealed pages cannot be trusted to show record.json: {exc}")
        return
    except Exception as exc:  # hostile input: any parse error is a failure
        report.fail("pages", f"the sealed pages cannot be read ({type(exc).__name__}: {exc})")
        return
    if problem is None:
        report.add(
            "pages",
            "ok",
            "every page shows record.json's text, in order, visibly, in the record's font",
        )
        return
    n, detail = problem
    report.fail(
        "pages",
        f"the sealed pages differ from record.json: page {n} shows something other than "
        f"record.json ({detail})",
    )


def _page_streams(pdf: bytes) -> list[bytes]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    out = []
    for i in range(int(reader.root["/Pages"]["/Count"])):
        ref, _ = reader.find_page_for_modification(i)  # type: ignore[no-untyped-call]
        contents: Any = ref.get_object()["/Contents"]
        parts = contents if isinstance(contents, list) else [contents]
        out.append(b"".join(p.get_object().data for p in parts))
    return out


def differing_page(sealed: bytes, rendered: bytes) -> str:
    try:
        a, b = _page_streams(sealed), _page_streams(rendered)
    except Exception as exc:
        return f"the sealed pages cannot be read ({type(exc).__name__})"
    if len(a) != len(b):
        return f"the sealed file has {len(a)} pages, record.json renders to {len(b)}"
    for n, (x, y) in enumerate(zip(a, b, strict=True), start=1):
        if x != y:
            return f"page {n} shows something other than record.json"
    return "the pages' text matches, but fonts, images or metadata differ"


def check_pages_full(
    pdf: bytes,
    manifest: Mapping[str, Any] | None,
    doc: RecordDocument,
    sigs: Sequence[ParticipantSignature],
    refusals: Sequence[SignatureRefusal],
    files: Mapping[str, bytes],
    report: VerificationReport,
) -> None:
    """Re-render the pages from record.json and compare the bytes (``--full-pages``)."""
    from courtroom.record.pdf import render_pdf

    if manifest is None:
        report.add("pages.full", "skipped", "no manifest: the rendered revision is unknown")
        return
    length = int(manifest["rendered_pdf"]["length"])
    strokes = {
        s.stroke_png_sha256: files.get(stroke_attachment_name(s.stroke_png_sha256), b"")
        for s in sigs
        if s.stroke_png_sha256
    }
    try:
        rendered = render_pdf(doc, sigs, refusals, strokes)
    except Exception as exc:
        report.add("pages.full", "skipped", f"cannot render record.json here: {exc}")
        return
    if rendered == pdf[:length]:
        report.add("pages.full", "ok", "the sealed pages are exactly what record.json renders to")
        return
    # Records rendered before 2026-11-26 lack the end-of-line before "endstream" in streams
    # whose data ends in byte 0x0A (about 1 record in 40; a PDF/A defect, not a change of text)
    if render_pdf(doc, sigs, refusals, strokes, legacy_eol=True) == pdf[:length]:
        report.add("pages.full", "ok", "the sealed pages are exactly what record.json renders to "
                   "with the writer of before 2026-11-26 (a stream ending in byte 0x0A has no "
                   "end-of-line before endstream: not PDF/A, the text is the same)")
        return
    report.fail(
        "pages.full",
        "the sealed pages differ from the pages rendered from record.json: "
        f"{differing_page(pdf[:length], rendered)} (or this verifier renders differently)",
    )
