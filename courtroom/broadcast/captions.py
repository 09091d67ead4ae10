"""Transcript captions for the public page, where the court enables them.

A line is published only if its speaker's voice was on air for the whole line (the
studio's audible spans, cut back at a pause like the picture) and the line ended more
than the delay ago, so captions never run ahead of the picture nor say what the pause
kept from the public. Speakers are named by role, never by name.
"""

from __future__ import annotations

from typing import Any

from ..domain.state import HearingState
from .studio import Studio


def published_captions(
    state: HearingState, studio: Studio, clock_origin: float, now: float, delay_s: float
) -> list[dict[str, Any]]:
    """``clock_origin``: ``time.monotonic()`` at the recording clock's 0; ``now``: monotonic."""
    out: list[dict[str, Any]] = []
    for line in state.transcript:
        spans = studio.spans.get(line.speaker, [])
        a, b = clock_origin + line.t0, clock_origin + line.t1
        if b > now - delay_s or not any(s <= a and b <= e for s, e in spans):
            continue
        speaker = state.participants[line.speaker].role.value
        t0 = round(a - studio.started_at, 3)
        out.append({"speaker": speaker, "text": line.text, "t0": t0, "t1": round(t0 + b - a, 3)})
    return out
