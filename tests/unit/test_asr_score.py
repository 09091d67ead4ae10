from __future__ import annotations

from asr.score import ErrorCount, cer, edit_distance, normalize_en_words, total, wer


def test_edit_distance() -> None:
    assert edit_distance(list("kitten"), list("sitting")) == 3
    assert edit_distance([], list("abc")) == 3


def test_korean_cer_ignores_spaces_and_punctuation() -> None:
    # vosk splits morphemes ("그 거야"); references have punctuation
    assert cer("그거야, 모르지.", "그 거야 모르 지") == ErrorCount(0, 6)
    assert cer("아 몬 소리야", "아 무슨 소리야").errors == 2


def test_latin_lowercased_in_cer() -> None:
    assert cer("B 형", "b형").errors == 0


def test_english_wer_normalisation() -> None:
    assert normalize_en_words("Don't re-enter, 'please'!") == ["don't", "re", "enter", "please"]
    assert wer("The cat-flap.", "the cat flap", "en") == ErrorCount(0, 3)


def test_corpus_total() -> None:
    assert total([ErrorCount(1, 4), ErrorCount(3, 6)]).rate == 0.4
