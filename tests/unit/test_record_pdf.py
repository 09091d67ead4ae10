"""Transcript PDF rendering: glyph coverage is checked up front, output is reproducible."""

from __future__ import annotations

import dataclasses

import pytest

from courtroom.record.document import TranscriptGap, gap_label
from courtroom.record.pdf import MissingGlyphsError, check_glyphs, drawn_texts, render_pdf
from courtroom.record.sample import build_sample


def test_missing_glyphs_are_refused_with_a_list() -> None:
    sample = build_sample(4)
    doc = sample.doc
    bad = dataclasses.replace(doc.transcript[0], text="证人李䶮 𠮷野到庭。")
    doc = dataclasses.replace(doc, transcript=(bad, *doc.transcript[1:]))
    with pytest.raises(MissingGlyphsError) as info:
        render_pdf(doc)
    assert set(info.value.missing) == {"䶮", "𠮷"}
    assert "U+4DAE" in str(info.value) and "U+20BB7" in str(info.value)
    with pytest.raises(MissingGlyphsError):
        check_glyphs(["喆堃赟", "𠮷"])
    check_glyphs([doc.meta.case_number, "审判长：现在开庭，核对当事人身份。"])


def test_render_is_reproducible_and_has_no_unembedded_font() -> None:
    sample = build_sample(30)
    a = render_pdf(sample.doc, sample.signatures, sample.refusals, sample.strokes)
    b = render_pdf(sample.doc, sample.signatures, sample.refusals, sample.strokes)
    assert a == b
    assert b"/Helvetica" not in a


def test_stroke_must_match_its_hash() -> None:
    sample = build_sample(4)
    wrong = {k: v + b"x" for k, v in sample.strokes.items()}
    with pytest.raises(ValueError, match="stroke"):
        render_pdf(sample.doc, sample.signatures, (), wrong)


def test_font_path_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTROOM_CJK_FONT", "/nonexistent/font.ttf")
    with pytest.raises(FileNotFoundError, match="COURTROOM_CJK_FONT"):
        render_pdf(build_sample(2).doc)


def test_a_gap_in_the_audio_is_drawn_among_the_transcript_lines() -> None:
    sample = build_sample(4)
    second = sample.doc.transcript[1]
    gap = TranscriptGap(second.speaker_id, second.speaker_name, second.t0_ms - 1, second.t0_ms)
    doc = dataclasses.replace(sample.doc, transcript_gaps=(gap,))
    check_glyphs([gap_label(gap)])
    texts = drawn_texts(doc)
    first_line, label = texts.index(sample.doc.transcript[0].text), texts.index(gap_label(gap))
    assert first_line < label < texts.index(second.text)
    assert render_pdf(doc) == render_pdf(doc)
