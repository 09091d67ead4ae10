"""Commands and events survive the trip to JSON and back; bad JSON gets a clear error."""

from __future__ import annotations

import pytest

from courtroom.domain import commands as c
from courtroom.domain import events as e
from courtroom.domain.codec import CodecError, from_json, to_json
from courtroom.domain.phases import Phase
from courtroom.domain.presence import Presence, Reason
from courtroom.domain.roles import Role
from courtroom.domain.routing import MediaKind

SAMPLES: list[object] = [
    e.HearingScheduled("(2026)京0105民初12345号", "借款纠纷", "北京市朝阳区人民法院", "zh", "2026-11-23T09:00:00+08:00"),
    e.ParticipantInvited("p1", Role.WITNESS, "王五"),
    e.PresenceChanged("p1", Presence.WAITING_ROOM, Reason.ADMITTED),
    e.PhaseChanged(Phase.CLOSED, Phase.DEBATE, "closed"),
    e.MediaCut("p1", MediaKind.VIDEO),
    c.CutMedia("p1", MediaKind.AUDIO),
    c.ChangePhase(Phase.EVIDENCE),
    c.SetSelfMute(MediaKind.VIDEO, True),
]


@pytest.mark.parametrize("obj", SAMPLES, ids=lambda o: type(o).__name__)
def test_round_trip(obj: object) -> None:
    assert from_json(type(obj), to_json(obj)) == obj


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        (c.CallIn, {}, "missing field 'participant'"),
        (c.CallIn, {"participant": 3}, "participant must be a string"),
        (c.CallIn, {"participant": "p", "extra": 1}, "unknown field(s) extra"),
        (c.CutMedia, {"participant": "p", "kind": "smell"}, "kind must be one of: audio, video"),
        (c.SetSelfMute, {"kind": "audio", "muted": "yes"}, "muted must be true or false"),
        (c.ChangePhase, [], "must be a JSON object"),
    ],
)
def test_bad_input_is_named(cls: type, data: object, message: str) -> None:
    with pytest.raises(CodecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        from_json(cls, data)
