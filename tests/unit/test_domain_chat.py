"""Chat: who may write to whom, the judge's mute, the rate limit, and who may read what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from domain_fixtures import NOW, actor, in_phase, scheduled, with_cast

from courtroom.domain import commands as c
from courtroom.domain import events as e
from courtroom.domain.codec import from_json, to_json
from courtroom.domain.errors import Refusal, Rejected
from courtroom.domain.hearing import HearingState, decide, evolve
from courtroom.domain.phases import Phase
from courtroom.domain.presence import Presence
from courtroom.domain.visibility import may_see

VIEWERS = ["judge", "clerk", "plaintiff", "witness", "kiosk"]


def hearing() -> HearingState:
    """Open; the witness waits in the waiting room, the kiosk supervisor in the lobby."""
    return in_phase(with_cast(scheduled(), {"witness": Presence.WAITING_ROOM}), Phase.INVESTIGATION)


def send(state: HearingState, who: str, to: str, text: str = "您好", at: timedelta = timedelta()) -> list[e.Event] | Rejected:
    return decide(state, c.SendMessage(to, text), actor(who), NOW + at)


def apply(state: HearingState, out: list[e.Event] | Rejected) -> HearingState:
    assert isinstance(out, list), out
    for ev in out:
        state = evolve(state, ev)
    return state


def refused(out: list[e.Event] | Rejected, code: Refusal) -> None:
    assert isinstance(out, Rejected), out
    assert out.code is code, out


@pytest.mark.parametrize(("who", "to"), [("plaintiff", "hearing"), ("judge", "hearing"), ("lawyer", "bench"),
                                         ("clerk", "participant:witness"), ("witness", "participant:clerk")])
def test_allowed_routes_become_chat_events(who: str, to: str) -> None:
    out = send(hearing(), who, to, "  请出示证据。 ")
    assert out == [e.ChatMessage(who, to, "请出示证据。", NOW.isoformat())]


@pytest.mark.parametrize(("who", "to", "code"), [
    ("witness", "hearing", Refusal.WRONG_PRESENCE),  # the waiting room cannot write to the hearing
    ("witness", "bench", Refusal.WRONG_PRESENCE),
    ("witness", "participant:judge", Refusal.FORBIDDEN),  # only the clerk, privately
    ("plaintiff", "participant:witness", Refusal.FORBIDDEN),  # parties never reach a witness
    ("judge", "participant:witness", Refusal.FORBIDDEN),
    ("clerk", "participant:plaintiff", Refusal.FORBIDDEN),  # not a waiting witness
    ("clerk", "participant:nobody", Refusal.UNKNOWN_PARTICIPANT),
    ("clerk", "everyone", Refusal.INVALID),
    ("clerk", "participant:", Refusal.INVALID),
    ("observer", "hearing", Refusal.FORBIDDEN),  # observers watch; they do not chat
    ("kiosk", "hearing", Refusal.FORBIDDEN),
])
def test_refused_routes(who: str, to: str, code: Refusal) -> None:
    refused(send(hearing(), who, to), code)


def test_the_clerk_cannot_write_privately_to_a_witness_once_called_in() -> None:
    state = in_phase(with_cast(scheduled()), Phase.INVESTIGATION)  # the witness is in the hearing
    refused(send(state, "clerk", "participant:witness"), Refusal.FORBIDDEN)
    refused(send(state, "witness", "participant:clerk"), Refusal.FORBIDDEN)


@pytest.mark.parametrize("text", ["", "   ", "字" * 2001])
def test_text_must_have_1_to_2000_characters(text: str) -> None:
    refused(send(hearing(), "plaintiff", "hearing", text), Refusal.INVALID)


def test_2000_characters_pass() -> None:
    out = send(hearing(), "plaintiff", "hearing", "字" * 2000)
    assert isinstance(out, list) and isinstance(out[0], e.ChatMessage)


@pytest.mark.parametrize("phase", [Phase.CLOSED, Phase.SEALED])
def test_no_chat_once_the_record_is_frozen(phase: Phase) -> None:
    state = in_phase(with_cast(scheduled()), phase)
    refused(send(state, "judge", "hearing"), Refusal.WRONG_PHASE)


def test_a_muted_participant_is_refused_until_unmuted() -> None:
    state = hearing()
    state = apply(state, decide(state, c.MuteChat("plaintiff"), actor("judge"), NOW))
    assert state.participants["plaintiff"].chat_muted
    out = send(state, "plaintiff", "hearing")
    refused(out, Refusal.CHAT_MUTED)
    assert isinstance(out, Rejected) and "muted" in out.reason
    assert isinstance(send(state, "defendant", "hearing"), list)  # only the one muted
    assert decide(state, c.MuteChat("plaintiff"), actor("judge"), NOW) == []  # already muted
    state = apply(state, decide(state, c.UnmuteChat("plaintiff"), actor("judge"), NOW))
    assert isinstance(send(state, "plaintiff", "hearing"), list)


def test_the_judge_may_mute_a_waiting_witness_but_not_themself() -> None:
    state = hearing()
    state = apply(state, decide(state, c.MuteChat("witness"), actor("judge"), NOW))
    refused(send(state, "witness", "participant:clerk"), Refusal.CHAT_MUTED)
    refused(decide(state, c.MuteChat("judge"), actor("judge"), NOW), Refusal.INVALID)
    refused(decide(state, c.MuteChat("nobody"), actor("judge"), NOW), Refusal.UNKNOWN_PARTICIPANT)


@pytest.mark.parametrize("who", ["clerk", "plaintiff", "lawyer", "witness"])
def test_only_the_judge_mutes(who: str) -> None:
    refused(decide(hearing(), c.MuteChat("defendant"), actor(who), NOW), Refusal.FORBIDDEN)
    refused(decide(hearing(), c.UnmuteChat("defendant"), actor(who), NOW), Refusal.FORBIDDEN)


def test_rate_limit_five_messages_in_five_seconds() -> None:
    state = hearing()
    for i in range(5):
        state = apply(state, send(state, "plaintiff", "hearing", f"m{i}", timedelta(seconds=i * 0.5)))
    out = send(state, "plaintiff", "hearing", "m5", timedelta(seconds=2.5))
    refused(out, Refusal.CHAT_RATE_LIMITED)
    assert isinstance(out, Rejected) and "5 messages in 5 s" in out.reason
    assert isinstance(send(state, "defendant", "hearing", "mine", timedelta(seconds=2.5)), list)  # per participant
    # Once the first message is more than 5 s old, one more fits.
    assert isinstance(send(state, "plaintiff", "hearing", "m5", timedelta(seconds=5.01)), list)
    refused(send(state, "plaintiff", "hearing", "m5", timedelta(seconds=4.9)), Refusal.CHAT_RATE_LIMITED)


def _readers(state: HearingState, msg: e.ChatMessage) -> set[str]:
    state = evolve(state, msg)
    return {v for v in VIEWERS if may_see(state, v, msg, msg.sender)}


@pytest.mark.parametrize(("sender", "to", "readers"), [
    ("plaintiff", "hearing", {"judge", "clerk", "plaintiff"}),  # not the waiting room, not the lobby
    ("judge", "hearing", {"judge", "clerk", "plaintiff"}),
    ("plaintiff", "bench", {"judge", "clerk", "plaintiff"}),  # the sender keeps their own
    ("judge", "bench", {"judge", "clerk"}),
    ("clerk", "participant:witness", {"judge", "clerk", "witness"}),
    ("witness", "participant:clerk", {"judge", "clerk", "witness"}),
])
def test_who_reads_which_message(sender: str, to: str, readers: set[str]) -> None:
    assert _readers(hearing(), e.ChatMessage(sender, to, "…", NOW.isoformat())) == readers


def test_a_party_does_not_read_the_bench_or_private_messages_of_others() -> None:
    state = hearing()
    assert not may_see(state, "defendant", e.ChatMessage("judge", "bench", "x", NOW.isoformat()), "judge")
    assert not may_see(state, "defendant", e.ChatMessage("clerk", "participant:witness", "x", NOW.isoformat()), "clerk")


def test_mute_changes_reach_the_one_muted_and_the_hearing() -> None:
    state = evolve(hearing(), e.ChatMuteChanged("witness", True))
    ev = e.ChatMuteChanged("witness", True)
    assert {v for v in VIEWERS if may_see(state, v, ev, "judge")} == {"judge", "clerk", "plaintiff", "witness"}


def test_chat_events_round_trip_through_the_codec() -> None:
    msg = e.ChatMessage("clerk", "participant:witness", "请稍候", NOW.isoformat())
    assert from_json(e.ChatMessage, to_json(msg)) == msg
    assert from_json(c.SendMessage, {"to": "bench", "text": "x"}) == c.SendMessage("bench", "x")


def test_typing_is_allowed_where_a_message_would_be_and_records_nothing() -> None:
    state = hearing()
    assert decide(state, c.Typing("hearing"), actor("plaintiff"), NOW) == []
    assert decide(state, c.Typing("participant:clerk"), actor("witness"), NOW) == []
    refused(decide(state, c.Typing("hearing"), actor("witness"), NOW), Refusal.WRONG_PRESENCE)
    refused(decide(state, c.Typing("participant:witness"), actor("plaintiff"), NOW), Refusal.FORBIDDEN)
    refused(decide(state, c.Typing("everyone"), actor("plaintiff"), NOW), Refusal.INVALID)
    muted = apply(state, decide(state, c.MuteChat("plaintiff"), actor("judge"), NOW))
    refused(decide(muted, c.Typing("hearing"), actor("plaintiff"), NOW), Refusal.CHAT_MUTED)
    refused(decide(in_phase(state, Phase.CLOSED), c.Typing("hearing"), actor("judge"), NOW), Refusal.WRONG_PHASE)
