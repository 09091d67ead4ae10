"""The sealed pages against the pages rendered from record.json.

Rendering is reproducible (``rl_config.invariant``): the same record, signatures,
refusals and stroke images give the same bytes, so the rendered first revision of the
sealed file must be exactly what record.json renders to. Otherwise a reader and a
machine would be shown two different records under one seal.

A verifier with another reportlab or another font file renders other bytes; it reports
the check as failed and says so, since it cannot tell that apart from a forgery.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from courtroom.record.document import RecordDocument
from courtroom.record.seal import stroke_attachment_name
from courtroom.record.signatures import ParticipantSignature, SignatureRefusal
from courtroom.record.verification.report import VerificationReport


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


def check_pages(
    pdf: bytes,
    manifest: Mapping[str, Any] | None,
    doc: RecordDocument,
    sigs: Sequence[ParticipantSignature],
    refusals: Sequence[SignatureRefusal],
    files: Mapping[str, bytes],
    report: VerificationReport,
) -> None:
    from courtroom.record.pdf import render_pdf

    if manifest is None:
        report.add("pages", "skipped", "no manifest: the rendered revision is unknown")
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
        report.add("pages", "skipped", f"cannot render record.json here: {exc}")
        return
    if rendered == pdf[:length]:
        report.add("pages", "ok", "the sealed pages are exactly what record.json renders to")
        return
    report.fail(
        "pages",
        "the sealed pages differ from the pages rendered from record.json: "
        f"{differing_page(pdf[:length], rendered)} (or this verifier renders differently)",
    )
