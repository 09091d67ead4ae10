"""The runtime skips rebuilding the media plan after "plan-neutral" events (a case space of 100
would pay ~80 ms per chat message otherwise): each of them must leave the plan as it was."""

from __future__ import annotations

import pytest
from domain_fixtures import in_phase, scheduled, with_cast

from courtroom.domain import events as e
from courtroom.domain.hearing import evolve
from courtroom.domain.phases import Phase
from courtroom.domain.presence import Presence
from courtroom.domain.routing import media_plan
from courtroom.server.runtime import _PLAN_NEUTRAL

SAMPLES: list[e.Event] = [
    e.ChatMessage("plaintiff", "hearing", "您好", "2026-11-23T09:30:00+00:00"),
    e.ChatMuteChanged("plaintiff", True),
    e.ParticipantConnected("plaintiff"),
    e.ParticipantDisconnected("plaintiff"),
    e.ParticipantDisconnected("clerk", "server restart"),
    e.CommandRejected("send_message", "chat_muted", "muted"),
    e.CommandRejectedSummary("send_message", "chat_muted", 3, "2026-11-23T09:30:00+00:00", "2026-11-23T09:31:00+00:00"),
    e.TranscriptLineRecorded("l1", "plaintiff", "안녕하세요", 1.0, 2.0, (), "vosk"),
    e.TranscriptLineCorrected("l1", "안녕하세요."),
    e.NodeStrained("node-a", 412.0, 10.0),
    e.NodeRecovered("node-a", 35.0, 512.0),
]


def test_every_neutral_event_type_has_a_sample() -> None:
    assert {type(ev) for ev in SAMPLES} == set(_PLAN_NEUTRAL)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda ev: ev.TYPE)
def test_a_neutral_event_leaves_the_media_plan_as_it_was(event: e.Event) -> None:
    state = in_phase(with_cast(scheduled(), {"witness": Presence.WAITING_ROOM}), Phase.INVESTIGATION)
    state = evolve(state, e.TranscriptLineRecorded("l1", "plaintiff", "원문", 0.0, 1.0, (), "vosk"))
    before = media_plan(state)
    assert before  # a hearing with routes (and a supervision link to the waiting witness)
    assert media_plan(evolve(state, event)) == before
