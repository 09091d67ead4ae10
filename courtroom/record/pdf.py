"""Render the transcript PDF (reportlab platypus, one embedded CJK TrueType font).

Choices measured in ../shared/docs/SIGNING-NOTES.md §1:
* WenQuanYi Micro Hei (glyf outlines; reportlab cannot load CFF), embedded as subsets;
  ``COURTROOM_CJK_FONT`` points elsewhere (``path`` or ``path#index`` for a collection).
* ``wordWrap="CJK"``: Chinese may break between any two characters, English between words.
* The font is set on the doc template and on every table, so no unembedded Helvetica.
* Every character is checked against the font's cmap first, because reportlab draws a
  missing glyph as a blank and text extraction then loses it; a record must not.
* ``rl_config.invariant``: the same inputs give the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Image,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from courtroom.record.chat_record import chat_row
from courtroom.record.document import (
    RecordDocument,
    RecordParticipant,
    TranscriptGap,
    document_hash,
    gap_label,
    transcript_in_time_order,
)
from courtroom.record.exhibits import describe as describe_exhibit
from courtroom.record.pdfa import eol_before_endstream
from courtroom.record.signatures import ParticipantSignature, SignatureRefusal

DEFAULT_CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc#0"
FONT_ENV = "COURTROOM_CJK_FONT"
_ROWS_PER_TABLE = 60  # many small tables: splitting one 2,000-row table is quadratic


class MissingGlyphsError(ValueError):
    """The record contains characters the configured font cannot draw."""

    def __init__(self, font: str, missing: Sequence[str]) -> None:
        self.font = font
        self.missing = tuple(missing)
        listed = ", ".join(f"U+{ord(c):04X} {c!r}" for c in self.missing)
        super().__init__(
            f"font {font} has no glyph for {len(self.missing)} character(s): {listed}. "
            f"Set {FONT_ENV} to a font that covers them (e.g. a Noto Sans SC static TTF)."
        )


@dataclass(frozen=True, slots=True)
class _Font:
    name: str
    path: str
    cmap: frozenset[int]


def font_spec() -> tuple[str, int]:
    spec = os.environ.get(FONT_ENV, DEFAULT_CJK_FONT)
    path, _, index = spec.partition("#")
    return path, int(index or 0)


@functools.lru_cache(maxsize=4)
def _load_font(path: str, index: int) -> _Font:
    # Parsing the 5 MB collection costs ~0.3 s: do it once per process and font.
    name = f"CourtroomCJK-{hashlib.sha256(f'{path}#{index}'.encode()).hexdigest()[:8]}"
    if not Path(path).is_file():
        raise FileNotFoundError(f"CJK font not found: {path} (set {FONT_ENV})")
    ttf = TTFont(name, path, subfontIndex=index)
    pdfmetrics.registerFont(ttf)
    return _Font(name=name, path=f"{path}#{index}", cmap=frozenset(ttf.face.charToGlyph))


def record_font() -> _Font:
    """The configured font of the record (loaded once per process)."""
    return _load_font(*font_spec())


def missing_glyphs(texts: Iterable[str], cmap: frozenset[int]) -> list[str]:
    seen: set[str] = set()
    for text in texts:
        seen.update(text)
    return sorted(c for c in seen if c not in "\n\r\t" and ord(c) not in cmap)


def check_glyphs(texts: Iterable[str]) -> None:
    """Raise ``MissingGlyphsError`` if the configured font lacks any character."""
    font = _load_font(*font_spec())
    missing = missing_glyphs(texts, font.cmap)
    if missing:
        raise MissingGlyphsError(font.path, missing)


def _who(names: Mapping[str, RecordParticipant], participant_id: str) -> str:
    p = names.get(participant_id)
    return p.display_name if p else participant_id


def _clock(ms: int) -> str:
    s = max(ms, 0) // 1000
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


class _Builder:
    """Collects flowables and every string drawn, for the cmap check before building."""

    def __init__(self, font: str, *, layout: bool = True) -> None:
        self.texts: list[str] = []
        self.font = font
        self.layout = layout  # False: only collect the strings, in the order they are drawn
        base = dict(fontName=font, wordWrap="CJK")
        self.title = ParagraphStyle("title", fontSize=15, leading=20, spaceAfter=6, **base)
        self.h2 = ParagraphStyle(
            "h2", fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4, **base
        )
        self.body = ParagraphStyle("body", fontSize=9.5, leading=13, **base)
        self.small = ParagraphStyle("small", fontSize=7.5, leading=10, **base)

    def p(self, text: str, style: ParagraphStyle) -> Any:
        self.texts.append(text)
        return Paragraph(escape(text), style) if self.layout else text

    def s(self, text: str) -> str:
        self.texts.append(text)
        return text

    def table(
        self, rows: list[list[Any]], widths: Sequence[float], *, header: bool, size: float = 9.5
    ) -> Any:
        if not self.layout:
            return None
        t = Table(rows, colWidths=list(widths), repeatRows=1 if header else 0)
        style: list[tuple[Any, ...]] = [
            ("FONTNAME", (0, 0), (-1, -1), self.font),
            ("FONTSIZE", (0, 0), (-1, -1), size),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
        t.setStyle(TableStyle(style))
        return t

    def image(self, png: bytes | None, sha256_hex: str) -> Any:
        if not self.layout:
            return ""
        if png is None or hashlib.sha256(png).hexdigest() != sha256_hex:
            raise ValueError("stroke image missing or not matching its sha256")
        iw, ih = ImageReader(io.BytesIO(png)).getSize()
        w = 55 * mm
        return Image(io.BytesIO(png), width=w, height=w * ih / iw, mask="auto")


def footer_text(doc: RecordDocument) -> str:
    return f"{doc.meta.case_number} · 文档哈希 Document SHA-256 {document_hash(doc)}"


def page_number_text(n: int) -> str:
    return f"第 {n} 页"


def drawn_texts(
    doc: RecordDocument,
    signatures: Sequence[ParticipantSignature] = (),
    refusals: Sequence[SignatureRefusal] = (),
) -> list[str]:
    """Every string the pages show, in drawing order, without the page footers."""
    b = _Builder("", layout=False)
    _story(b, doc, signatures, refusals, {})
    return b.texts


def _story(
    b: _Builder,
    doc: RecordDocument,
    signatures: Sequence[ParticipantSignature],
    refusals: Sequence[SignatureRefusal],
    strokes: Mapping[str, bytes],
) -> list[Any]:
    """The flowables in drawing order (``drawn_texts`` relies on that order)."""
    width = A4[0] - 36 * mm
    names = {p.participant_id: p for p in doc.participants}
    return [
        *_head(b, doc, width),
        *_transcript(b, doc, width),
        *_extras(b, doc, width, names),
        *_signatures_page(b, signatures, refusals, strokes, width, names),
    ]


def _head(b: _Builder, doc: RecordDocument, width: float) -> list[Any]:
    m = doc.meta
    story: list[Any] = [
        b.p(m.title, b.title),
        b.table(
            [
                [b.s("案号 Case No."), b.p(m.case_number, b.body)],
                [b.s("法院 Court"), b.p(m.court, b.body)],
                [b.s("开庭 Opened"), b.s(m.opened_at)],
                [b.s("闭庭 Closed"), b.s(m.closed_at)],
                [
                    b.s("审计链 Audit head"),
                    b.p(f"#{doc.audit_head.seq} {doc.audit_head.hash}", b.small),
                ],
            ],
            [32 * mm, width - 32 * mm],
            header=False,
        ),
        b.p("参加人员 Participants", b.h2),
        b.table(
            [[b.s("角色 Role"), b.s("姓名 Name"), b.s("身份核验 Identity check")]]
            + [
                [b.s(p.role), b.p(p.display_name, b.body), b.s(p.identity_check)]
                for p in doc.participants
            ],
            [40 * mm, width - 85 * mm, 45 * mm],
            header=True,
        ),
        b.p("庭审笔录 Transcript", b.h2),
    ]
    return story


def _transcript(b: _Builder, doc: RecordDocument, width: float) -> list[Any]:
    story: list[Any] = []
    tw = [18 * mm, 30 * mm, width - 48 * mm]
    rows: list[list[Any]] = [[b.s("时间 Time"), b.s("发言人 Speaker"), b.s("内容 Text")]]
    for line in transcript_in_time_order(doc):
        if isinstance(line, TranscriptGap):
            text = gap_label(line)
        else:
            text = line.text + ("  〔已更正 corrected〕" if line.corrected else "")
        rows.append([b.s(_clock(line.t0_ms)), b.p(line.speaker_name, b.body), b.p(text, b.body)])
        if len(rows) >= _ROWS_PER_TABLE:
            story.append(b.table(rows, tw, header=rows[0][0] == "时间 Time"))
            rows = []
    if rows:
        story.append(b.table(rows, tw, header=rows[0][0] == "时间 Time"))
    return story


def _extras(
    b: _Builder, doc: RecordDocument, width: float, names: Mapping[str, RecordParticipant]
) -> list[Any]:
    story: list[Any] = []
    if doc.recordings:
        story.append(b.p("录音录像 Recordings (SHA-256)", b.h2))
        story.append(
            b.table(
                [[b.s(r.name), b.p(f"{r.sha256}  {r.bytes} B", b.small)] for r in doc.recordings],
                [50 * mm, width - 50 * mm],
                header=False,
                size=8,
            )
        )
    if doc.flags:
        story.append(b.p("标记 Flags", b.h2))
        story.append(
            b.table(
                [
                    [
                        b.s(f"{_clock(f.t0_ms)}-{_clock(f.t1_ms)}"),
                        b.s(f.kind),
                        b.p(
                            f"{_who(names, f.participant_id)} · {f.confidence:.2f} · "
                            f"{f.disposition} {f.note}",
                            b.body,
                        ),
                    ]
                    for f in doc.flags
                ],
                [30 * mm, 30 * mm, width - 60 * mm],
                header=False,
            )
        )
    if doc.chat:
        story += _chat(b, doc, width, names)
    if doc.exhibits:
        story.append(b.p("证据 Exhibits (SHA-256)", b.h2))
        name_of = {pid: p.display_name for pid, p in names.items()}
        lines = [describe_exhibit(x, name_of) for x in doc.exhibits]
        story.append(
            b.table(
                [[b.p(head, b.body), b.p(history, b.small)] for head, history in lines],
                [70 * mm, width - 70 * mm],
                header=False,
            )
        )
    for oath in doc.oaths:
        who = names.get(oath.participant_id)
        story.append(b.p("证人保证书 Witness oath", b.h2))
        story.append(
            b.p(f"{who.display_name if who else oath.participant_id}: {oath.text}", b.body)
        )
    return story


def _chat(
    b: _Builder, doc: RecordDocument, width: float, names: Mapping[str, RecordParticipant]
) -> list[Any]:
    """Every chat message and mute, in log order (chat_record.py)."""
    shown = {pid: p.display_name for pid, p in names.items()}
    rows = [chat_row(c, shown) for c in doc.chat]
    widths = [18 * mm, 45 * mm, width - 63 * mm]
    story: list[Any] = [b.p("聊天记录 Chat", b.h2)]
    for i in range(0, len(rows), _ROWS_PER_TABLE):
        story.append(
            b.table(
                [
                    [b.s(t), b.p(who, b.body), b.p(text, b.body)]
                    for t, who, text in rows[i : i + _ROWS_PER_TABLE]
                ],
                widths,
                header=False,
            )
        )
    return story


def _signatures_page(
    b: _Builder,
    signatures: Sequence[ParticipantSignature],
    refusals: Sequence[SignatureRefusal],
    strokes: Mapping[str, bytes],
    width: float,
    names: Mapping[str, RecordParticipant],
) -> list[Any]:
    story: list[Any] = []
    story.append(PageBreak())
    story.append(b.p("签名 Signatures", b.h2))
    for sig in signatures:
        who = names.get(sig.participant_id)
        image: Any = ""
        if sig.stroke_png_sha256 is not None:
            image = b.image(strokes.get(sig.stroke_png_sha256), sig.stroke_png_sha256)
        label = "笔录签名 record" if sig.purpose == "record" else "保证书签名 oath"
        story.append(
            b.table(
                [
                    [
                        image,
                        [
                            b.p(
                                f"{who.display_name if who else sig.participant_id} "
                                f"({who.role if who else '?'})",
                                b.body,
                            ),
                            b.p(f"{label} · {sig.signed_at}", b.small),
                            b.p(f"signed hash {sig.signed_hash}", b.small),
                        ],
                    ]
                ],
                [60 * mm, width - 60 * mm],
                header=False,
            )
        )
        story.append(Spacer(1, 3 * mm))
    for ref in refusals:
        who = names.get(ref.participant_id)
        story.append(
            b.p(
                f"拒绝签名 Refused ({ref.purpose}): "
                f"{who.display_name if who else ref.participant_id} · {ref.at} · "
                f"{ref.reason}",
                b.body,
            )
        )
    return story


def render_pdf(
    doc: RecordDocument,
    signatures: Sequence[ParticipantSignature] = (),
    refusals: Sequence[SignatureRefusal] = (),
    strokes: Mapping[str, bytes] | None = None,
    *,
    legacy_eol: bool = False,
) -> bytes:
    """The human-readable record. ``strokes`` maps a stroke PNG's sha256 to its bytes.
    ``legacy_eol``: render as before 2026-11-26 (``pdfa.eol_before_endstream``), for the
    verifier only."""
    font = _load_font(*font_spec())
    b = _Builder(font.name)
    story = _story(b, doc, signatures, refusals, strokes or {})
    m = doc.meta
    doc_hash = document_hash(doc)
    footer = footer_text(doc)
    b.texts.append(footer + " · " + page_number_text(123456789) + "0")
    missing = missing_glyphs(b.texts, font.cmap)
    if missing:
        raise MissingGlyphsError(font.path, missing)

    def on_page(canvas: Any, template: Any) -> None:
        canvas.saveState()
        canvas.setFont(font.name, 6.5)
        canvas.drawString(18 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, page_number_text(canvas.getPageNumber()))
        canvas.restoreState()

    out = io.BytesIO()
    previous = rl_config.invariant, rl_config.useA85
    rl_config.invariant = 1  # fixed dates and /ID: reproducible bytes
    rl_config.useA85 = 0  # plain Flate streams: smaller, and quicker to read back
    try:
        template = SimpleDocTemplate(
            out,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=16 * mm,
            bottomMargin=18 * mm,
            initialFontName=font.name,
            title=m.case_number,
            author=m.court,
            subject=f"Hearing record {doc_hash}",
            creator="courtroom",
        )
        with eol_before_endstream(legacy=legacy_eol):
            template.build(story, onFirstPage=on_page, onLaterPages=on_page)
    finally:
        rl_config.invariant, rl_config.useA85 = previous
    return out.getvalue()
