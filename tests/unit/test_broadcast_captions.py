"""Captions for the public page: only lines whose voice was on air for the whole line, and
only once the delay has passed; speakers by role, never by name."""

from __future__ import annotations

from pathlib import Path

from domain_fixtures import in_phase, scheduled, with_cast

from courtroom.broadcast.captions import published_captions
from courtroom.broadcast.studio import Studio, StudioConfig
from courtroom.domain import events as e
from courtroom.domain.hearing import evolve
from courtroom.domain.phases import Phase


def test_captions_follow_the_picture_and_the_pause(tmp_path: Path) -> None:
    state = in_phase(with_cast(scheduled()), Phase.EVIDENCE)
    lines = [("L1", "judge", 10.0, 12.0, "开庭"), ("L2", "plaintiff", 13.0, 15.0, "我要求还款"),
             ("L3", "witness", 13.0, 14.0, "证人的话"), ("L4", "plaintiff", 19.0, 21.0, "暂停后的话"),
             ("L5", "judge", 40.0, 41.0, "还在延迟里")]
    for line_id, who, t0, t1, text in lines:
        state = evolve(state, e.TranscriptLineRecorded(line_id, who, text, t0, t1, (), "vosk-test"))
    studio = Studio(lambda: state, lambda _: None, tmp_path / "hls", StudioConfig(delay_s=5.0))
    # Clock origin 100 (monotonic): on air from 108, the plaintiff audible until the pause at 118.
    studio.started_at = 108.0
    studio.spans = {"judge": [[108.0, 118.0], [125.0, float("inf")]], "plaintiff": [[108.0, 118.0]]}
    got = published_captions(state, studio, clock_origin=100.0, now=145.0, delay_s=5.0)
    assert [(c["speaker"], c["text"]) for c in got] == [("judge", "开庭"), ("plaintiff", "我要求还款")]
    assert got[0]["t0"] == 2.0 and got[0]["t1"] == 4.0  # seconds into the broadcast
    assert all("Plaintiff" not in str(c) for c in got)  # roles, not display names
