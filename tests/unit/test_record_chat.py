"""Chat in the record (issue #15): rebuilt from the log, shown in the text and on the PDF
pages, and a record.json with a malformed chat entry is refused."""

from __future__ import annotations

import pytest

from courtroom.record.document import RecordFormatError, from_json, to_json
from courtroom.record.hearing_log import render_text
from courtroom.record.pdf import drawn_texts
from courtroom.record.sample import SAMPLE_CHAT, build_sample


def test_every_message_and_mute_is_in_the_record_text_and_pages() -> None:
    sample = build_sample(6)
    doc = sample.doc
    assert [c.text for c in doc.chat if c.kind == "message"] == [t for _, _, t in SAMPLE_CHAT]
    assert [c.to for c in doc.chat][:3] == ["hearing", "bench", "participant:p-witness"]
    assert from_json(to_json(doc)) == doc
    text = render_text(doc, sample.document_hash)
    pages = drawn_texts(doc, sample.signatures, sample.refusals)
    for _, _, message in SAMPLE_CHAT:
        assert message in text and message in pages
    assert "私信 private → 周证人" in text and "审判席 bench" in text
    assert text.count("禁言 chat muted") == 1 and "解除禁言 chat unmuted" in text
    assert "聊天记录 Chat" in pages


def test_a_record_without_chat_keeps_its_bytes() -> None:
    sample = build_sample(4)
    obj = to_json(sample.doc)
    del obj["chat"]
    assert "chat" not in to_json(from_json(obj))


@pytest.mark.parametrize(
    "bad",
    [
        {"seq": "1"},
        {"seq": True},
        {"text": 5},
        {"to": None},
        {"at": ["2026"]},
    ],
)
def test_a_malformed_chat_entry_is_refused(bad: dict[str, object]) -> None:
    obj = to_json(build_sample(4).doc)
    obj["chat"] = [{**obj["chat"][0], **bad}]
    with pytest.raises(RecordFormatError):
        from_json(obj)


def test_a_chat_entry_missing_a_field_is_refused() -> None:
    obj = to_json(build_sample(4).doc)
    entry = dict(obj["chat"][0])
    del entry["text"]
    obj["chat"] = [entry]
    with pytest.raises(RecordFormatError):
        from_json(obj)
    obj["chat"] = "not a list"
    with pytest.raises(RecordFormatError):
        from_json(obj)
