"""PDF/A-3b for the sealed record (ISO 19005-3, level B: the visual appearance is kept).

The rendered pages already embed every font. The seal's incremental update adds what
PDF/A-3 asks for on top, before the court signs:

* an output intent with an sRGB ICC profile (``COURTROOM_ICC_PROFILE``, default the one
  Debian's icc-profiles-free installs), so DeviceRGB and DeviceGray are calibrated;
* XMP metadata with ``pdfaid:part=3``, ``pdfaid:conformance=B`` and the same title,
  author, subject, creator and dates as the /Info dictionary (pyHanko keeps XMP and
  /Info in step on every later revision: the DSS, each document timestamp);
* each attachment's file specification with an /AFRelationship, listed in the
  catalog's /AF (A-3 allows any embedded file when it is associated this way).

reportlab writes ``stream ... endstream`` with no end-of-line before ``endstream`` when a
stream is only Flate-compressed; PDF/A requires one, so ``render_pdf`` adds it
(``eol_before_endstream``), outside the /Length as the format says.

pyHanko writes XMP with namespace declarations on the child elements (``<dc:title
xmlns:dc=...>``): valid XML, but PDFBox's XMP parser then misses the Dublin Core schema, so
``hoisted_xmp_namespaces`` moves them onto ``rdf:Description`` while the seal is written.

Without the ICC profile the seal still works; the file just does not claim PDF/A.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

ICC_ENV = "COURTROOM_ICC_PROFILE"
DEFAULT_ICC = "/usr/share/color/icc/sRGB.icc"
SRGB = "sRGB IEC61966-2.1"
_PATCH_LOCK = threading.Lock()
# What each attachment is to the record (PDF/A-3 /AFRelationship).
RELATIONSHIP = {"record.json": "/Source", "audit-log.jsonl": "/Source"}


def icc_profile() -> bytes | None:
    path = Path(os.environ.get(ICC_ENV, DEFAULT_ICC))
    return path.read_bytes() if path.is_file() else None


@contextlib.contextmanager
def eol_before_endstream(*, legacy: bool = False) -> Iterator[None]:
    """reportlab's stream writer, with the EOL PDF/A needs before ``endstream``.

    ``legacy``: the rule of records rendered before 2026-11-26, which added no EOL after a
    stream whose data ends in byte 0x0A (only so that ``courtroom verify --full-pages`` can
    still re-render those records byte for byte)."""
    from reportlab.pdfbase import pdfdoc

    original = pdfdoc.PDFStream.format

    def fmt(self: Any, document: Any) -> bytes:
        # reportlab writes the data and then "endstream" with nothing between, whatever the
        # data's last byte. A data byte 0x0A there is data (counted in /Length), not the EOL:
        # testing for "\nendstream" instead left compressed streams that happen to end in 0x0A
        # (1 in 256) without one, and PDFBox Preflight failed the record (rule 1.2.5).
        out: bytes = original(self, document)
        if out.endswith(b"endstream\n") and not (legacy and out.endswith(b"\nendstream\n")):
            out = out[: -len(b"endstream\n")] + b"\nendstream\n"
        return out

    with _PATCH_LOCK:
        pdfdoc.PDFStream.format = fmt
        try:
            yield
        finally:
            pdfdoc.PDFStream.format = original


_XMLNS = re.compile(rb' xmlns:([A-Za-z][\w.-]*)="([^"]*)"')


def hoist_namespaces(xmp: bytes) -> bytes:
    """Move every ``xmlns:p`` declared inside an ``rdf:Description`` onto its start tag."""

    def one(m: re.Match[bytes]) -> bytes:
        head, body = m.group(1), m.group(2)
        declared = dict(_XMLNS.findall(head))
        inner = dict(_XMLNS.findall(body))
        if any(declared.get(k, v) != v for k, v in inner.items()):
            return m.group(0)  # a prefix bound twice: leave it as written
        extra = b"".join(b' xmlns:%s="%s"' % (k, v) for k, v in inner.items() if k not in declared)
        return head[:-1] + extra + b">" + _XMLNS.sub(b"", body) + b"</rdf:Description>"

    return _DESCRIPTION.sub(one, xmp)


_DESCRIPTION = re.compile(rb"(<rdf:Description\b[^>]*[^/]>)(.*?)</rdf:Description>", re.S)


@contextlib.contextmanager
def hoisted_xmp_namespaces() -> Iterator[None]:
    """pyHanko's XMP serialiser, its output passed through ``hoist_namespaces``."""
    import io

    from pyhanko.pdf_utils.metadata import xmp_xml

    original = xmp_xml.serialise_xmp

    def serialise(roots: Any, out: Any) -> None:
        buf = io.BytesIO()
        original(roots, buf)
        out.write(hoist_namespaces(buf.getvalue()))

    with _PATCH_LOCK:
        xmp_xml.serialise_xmp = serialise
        try:
            yield
        finally:
            xmp_xml.serialise_xmp = original


def _output_intent(w: IncrementalPdfFileWriter, icc: bytes) -> generic.IndirectObject:
    n3 = generic.NumberObject(3)  # type: ignore[no-untyped-call]
    profile = generic.StreamObject({generic.NameObject("/N"): n3}, icc)
    profile.compress()  # type: ignore[no-untyped-call]
    intent = generic.DictionaryObject(  # type: ignore[no-untyped-call]
        {
            generic.NameObject("/Type"): generic.NameObject("/OutputIntent"),
            generic.NameObject("/S"): generic.NameObject("/GTS_PDFA1"),
            generic.NameObject("/OutputConditionIdentifier"): generic.TextStringObject(SRGB),
            generic.NameObject("/Info"): generic.TextStringObject(SRGB),
            generic.NameObject("/DestOutputProfile"): w.add_object(profile),
        }
    )
    return w.add_object(intent)


def _xmp(w: IncrementalPdfFileWriter) -> None:
    """Ask pyHanko to write XMP mirroring /Info, with the PDF/A identification."""
    from pyhanko.pdf_utils.metadata import model

    info = w.prev.trailer_view["/Info"]
    meta = w.document_meta
    meta.title = str(info.get("/Title", "")) or None
    meta.author = str(info.get("/Author", "")) or None
    meta.subject = str(info.get("/Subject", "")) or None
    meta.creator = str(info.get("/Creator", "")) or None
    created = info.get("/CreationDate")
    meta.created = generic.parse_pdf_date(str(created)) if created else None
    pdfaid = model.NS["pdfaid"]
    meta.xmp_extra = [
        model.XmpStructure.of(
            (model.ExpandedName(pdfaid, "part"), model.XmpValue("3")),
            (model.ExpandedName(pdfaid, "conformance"), model.XmpValue("B")),
        )
    ]
    # PDF/A wants every /Info entry mirrored in XMP. An empty /Keywords and /Trapped have
    # no counterpart pyHanko writes, and pyHanko appends itself to /Producer in /Info but
    # not in XMP: drop the three (pyHanko only updates /Info entries that exist).
    info_obj = w.prev.trailer_view.raw_get("/Info")
    info_dict = info_obj.get_object()
    for key in ("/Keywords", "/Trapped", "/Producer"):
        if key in info_dict:
            del info_dict[key]
    w.mark_update(info_obj)


def associate_files(w: IncrementalPdfFileWriter) -> None:
    """Give every embedded file an /AFRelationship and list it in the catalog's /AF."""
    names = w.root["/Names"]["/EmbeddedFiles"]["/Names"]
    refs = []
    for i in range(0, len(names) - 1, 2):
        ref = names.raw_get(i + 1)
        spec = ref.get_object()
        rel = RELATIONSHIP.get(str(names[i]), "/Supplement")
        spec[generic.NameObject("/AFRelationship")] = generic.NameObject(rel)
        w.mark_update(ref)
        refs.append(ref)
    w.root[generic.NameObject("/AF")] = generic.ArrayObject(refs)


def make_pdfa3b(w: IncrementalPdfFileWriter) -> bool:
    """Add output intent, XMP and file associations; False if no ICC profile is there."""
    icc = icc_profile()
    if icc is None:
        return False
    w.root[generic.NameObject("/OutputIntents")] = generic.ArrayObject([_output_intent(w, icc)])
    associate_files(w)
    _xmp(w)
    w.update_root()  # type: ignore[no-untyped-call]
    return True
