"""The review timeline folded from a log (courtroom/server/review_timeline.py): corrections keep
the original, call-ins and phase changes land by log time, a second media room's clock is
shifted by the difference of the origins, and an older log without a clock event still gets
an origin from its first segment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain_fixtures import NOW, scheduled

from courtroom.domain import events as e
from courtroom.domain.codec import to_json
from courtroom.domain.hearing import evolve
from courtroom.domain.phases import Phase
from courtroom.domain.presence import Presence, Reason
from courtroom.domain.review import RecordingClockStarted
from courtroom.domain.roles import Role
from courtroom.domain.routing import MediaKind
from courtroom.server.review_timeline import build
from courtroom.store.log import LogEntry


def _log(items: list[tuple[float, e.Event]]) -> list[LogEntry]:
    """Log entries for ``(seconds after NOW, event)``."""
    return [
        LogEntry("h1", seq, ev.TYPE, "server", NOW + timedelta(seconds=at), to_json(ev), "", "")
        for seq, (at, ev) in enumerate(items, start=2)
    ]


def _state(entries: list[e.Event]) -> Any:
    state = scheduled()
    for ev in entries:
        state = evolve(state, ev)
    return state


def _segment(pid: str, start: float, end: float, n: int) -> e.RecordingFinished:
    name = f"{pid}-video-{n:05d}-{int(start * 1000):010d}.webm"
    return e.RecordingFinished(pid, MediaKind.VIDEO, name, "a" * 64, 100, start, end)


def test_lines_flags_phase_and_call_in_on_one_axis() -> None:
    items: list[tuple[float, e.Event]] = [
        (0.0, e.ParticipantInvited("w1", Role.WITNESS, "Li Wei")),
        (10.0, RecordingClockStarted((NOW + timedelta(seconds=10)).isoformat())),
        (11.0, e.PhaseChanged(Phase.OPENING, Phase.SCHEDULED, "opened")),
        (12.0, e.PresenceChanged("w1", Presence.IN_HEARING, Reason.CALLED_IN)),
        (14.0, e.TranscriptLineRecorded("l1", "w1", "I was at home", 3.0, 4.5, (), "m")),
        (15.0, e.TranscriptLineCorrected("l1", "I was at my home")),
        (16.0, e.FlagRaised("f1", "w1", "phone", 5.0, 0.9, {}, "", 5.5)),
        (20.0, _segment("w1", 0.5, 10.4, 1)),
    ]
    entries = _log(items)
    tl = build(_state([ev for _, ev in items]), entries, "g")
    (line,) = tl["lines"]
    assert (line["original"], line["text"], line["earlier"]) == (
        "I was at home",
        "I was at my home",
        ["I was at home"],
    )
    kinds = {(m["type"], m["t"]) for m in tl["marks"]}
    assert {
        ("phase", 1.0),
        ("call_in", 2.0),
    } <= kinds  # 12 s on the wall is 2 s after the clock's origin
    assert {("transcript", 3.0), ("correction", 3.0), ("flag", 5.0)} <= kinds
    assert tl["flags"][0]["at"] == 5.0 and tl["flags"][0]["clip"] is None
    assert tl["tracks"][0]["segments"][0]["url"].endswith("?grant=g")
    assert tl["duration"] == 10.4


def test_a_second_room_clock_is_shifted_and_an_old_log_estimates_its_origin() -> None:
    first = NOW + timedelta(seconds=10)
    items: list[tuple[float, e.Event]] = [
        (0.0, e.ParticipantInvited("w1", Role.WITNESS, "Li Wei")),
        (10.0, RecordingClockStarted(first.isoformat())),
        (20.0, _segment("w1", 0.0, 10.0, 1)),
        (110.0, RecordingClockStarted((first + timedelta(seconds=100)).isoformat())),
        (121.0, _segment("w1", 1.0, 11.0, 1)),
    ]
    tl = build(_state([ev for _, ev in items]), _log(items), "g")
    starts = [s["start"] for s in tl["tracks"][0]["segments"]]
    assert starts == [0.0, 101.0]

    legacy = [
        (0.0, e.ParticipantInvited("w1", Role.WITNESS, "Li Wei")),
        (30.0, _segment("w1", 5.0, 20.0, 1)),
    ]
    tl = build(_state([ev for _, ev in legacy]), _log(legacy), "g")
    assert tl["origin"] == (NOW + timedelta(seconds=10)).isoformat()
