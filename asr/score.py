"""CER/WER per the fixture conventions (shared/fixtures/asr/README.md).

- ko: CER on characters after removing whitespace and punctuation, Latin lower-cased;
  WER on space-separated words (punctuation removed) as a secondary figure.
- zh: CER on characters after removing whitespace and punctuation.
- en: WER on words after lower-casing, hyphens -> spaces, punctuation stripped
  (apostrophes inside words kept).
Numbers are not normalised. Corpus figures sum errors and reference lengths (not a mean of
per-clip rates).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ErrorCount",
    "cer",
    "edit_distance",
    "normalize_chars",
    "normalize_en_words",
    "primary",
    "total",
    "wer",
]


@dataclass(frozen=True, slots=True)
class ErrorCount:
    errors: int
    ref_len: int

    @property
    def rate(self) -> float:
        return self.errors / self.ref_len if self.ref_len else float(self.errors > 0)

    def __add__(self, other: ErrorCount) -> ErrorCount:
        return ErrorCount(self.errors + other.errors, self.ref_len + other.ref_len)


def total(counts: Iterable[ErrorCount]) -> ErrorCount:
    out = ErrorCount(0, 0)
    for c in counts:
        out = out + c
    return out


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance (substitutions + deletions + insertions)."""
    if len(ref) < len(hyp):
        ref, hyp = hyp, ref
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def normalize_chars(text: str) -> list[str]:
    """Characters for CER: NFC, no whitespace, no punctuation, Latin lower-cased."""
    text = unicodedata.normalize("NFC", text).lower()
    return [c for c in text if not c.isspace() and not _is_punct(c)]


def _strip_punct_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).lower()
    return "".join(" " if _is_punct(c) else c for c in text).split()


_APOS_INNER = re.compile(r"(?<=\w)'(?=\w)")


def normalize_en_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).lower().replace("’", "'")
    text = text.replace("-", " ")
    text = _APOS_INNER.sub("\0", text)  # protect in-word apostrophes from stripping
    text = "".join(" " if _is_punct(c) else c for c in text).replace("\0", "'")
    return text.split()


def cer(ref: str, hyp: str) -> ErrorCount:
    r = normalize_chars(ref)
    return ErrorCount(edit_distance(r, normalize_chars(hyp)), len(r))


def wer(ref: str, hyp: str, language: str) -> ErrorCount:
    norm = normalize_en_words if language == "en" else _strip_punct_words
    r = norm(ref)
    return ErrorCount(edit_distance(r, norm(hyp)), len(r))


def primary(ref: str, hyp: str, language: str) -> ErrorCount:
    """The figure the fixtures are judged by: WER for en, CER otherwise."""
    return wer(ref, hyp, "en") if language == "en" else cer(ref, hyp)
