"""The witness's path through a hearing, reconnects included."""

from __future__ import annotations

from domain_fixtures import NOW, actor, add_target, in_phase, scheduled, with_cast

from courtroom.domain import commands as c
from courtroom.domain import events as e
from courtroom.domain.errors import Refusal, Rejected
from courtroom.domain.hearing import HearingState, decide, evolve
from courtroom.domain.phases import Phase
from courtroom.domain.presence import Presence
from courtroom.domain.roles import Role
from courtroom.domain.routing import AV, Link, MediaKind, Route, media_plan


def run(state: HearingState, command: c.Command, who: str) -> HearingState:
    out = decide(state, command, actor(who), NOW)
    assert isinstance(out, list), out
    for ev in out:
        state = evolve(state, ev)
    return state


def test_first_connection_puts_staff_in_the_hearing_and_others_in_the_lobby() -> None:
    state = scheduled()
    for pid, role in [("judge", Role.JUDGE), ("clerk", Role.CLERK), ("plaintiff", Role.PLAINTIFF), ("witness", Role.WITNESS)]:
        state = evolve(state, e.ParticipantInvited(pid, role, pid))
        state = run(state, c.Connect(), pid)
    p = state.participants
    assert p["judge"].presence is Presence.IN_HEARING
    assert p["clerk"].presence is Presence.IN_HEARING
    assert p["plaintiff"].presence is Presence.LOBBY
    assert p["witness"].presence is Presence.LOBBY


def test_admission_parties_go_in_witnesses_wait() -> None:
    state = in_phase(with_cast(scheduled(), {"plaintiff": Presence.LOBBY, "witness": Presence.LOBBY}), Phase.OPENING)
    state = run(state, c.Admit("plaintiff"), "clerk")
    state = run(state, c.Admit("witness"), "clerk")
    assert state.participants["plaintiff"].presence is Presence.IN_HEARING
    assert state.participants["witness"].presence is Presence.WAITING_ROOM


def test_before_opening_everyone_admitted_waits() -> None:
    state = with_cast(scheduled(), {"plaintiff": Presence.LOBBY})
    state = run(state, c.Admit("plaintiff"), "judge")
    assert state.participants["plaintiff"].presence is Presence.WAITING_ROOM


def test_call_in_send_back_dismiss_and_reconnect_refused() -> None:
    state = in_phase(with_cast(scheduled(), {"witness": Presence.WAITING_ROOM}), Phase.INVESTIGATION)
    state = run(state, c.CallIn("witness"), "judge")
    assert state.participants["witness"].presence is Presence.IN_HEARING
    state = run(state, c.SendBack("witness"), "judge")
    assert state.participants["witness"].presence is Presence.WAITING_ROOM
    state = run(state, c.Dismiss("witness"), "judge")
    assert state.participants["witness"].presence is Presence.DISMISSED
    state = run(state, c.Disconnect(), "witness")
    out = decide(state, c.Connect(), actor("witness"), NOW)
    assert isinstance(out, Rejected) and out.code is Refusal.DISMISSED
    # A new call lets them back, through the lobby again.
    state = run(state, c.Recall("witness"), "judge")
    state = run(state, c.Connect(), "witness")
    assert state.participants["witness"].presence is Presence.LOBBY


def test_reconnect_lands_where_the_court_left_you() -> None:
    state = in_phase(with_cast(scheduled(), {"witness": Presence.WAITING_ROOM}), Phase.EVIDENCE)
    state = run(state, c.Disconnect(), "witness")
    state = run(state, c.Connect(), "witness")
    assert state.participants["witness"].presence is Presence.WAITING_ROOM
    assert state.participants["witness"].connected


def test_removed_is_final() -> None:
    state = in_phase(with_cast(scheduled()), Phase.DEBATE)
    state = run(state, c.Remove("defendant"), "judge")
    out = decide(state, c.Connect(), actor("defendant"), NOW)
    assert isinstance(out, Rejected) and out.code is Refusal.REMOVED
    out = decide(state, c.Recall("defendant"), actor("judge"), NOW)
    assert isinstance(out, Rejected) and out.code is Refusal.WRONG_PRESENCE


def test_bench_cannot_move_the_judge_or_itself() -> None:
    state = in_phase(with_cast(scheduled()), Phase.DEBATE)
    out = decide(state, c.Dismiss("judge"), actor("judge"), NOW)
    assert isinstance(out, Rejected) and out.code is Refusal.INVALID
    out = decide(state, c.CallIn("nobody"), actor("judge"), NOW)
    assert isinstance(out, Rejected) and out.code is Refusal.UNKNOWN_PARTICIPANT


def test_wrong_presence_is_refused_with_a_clear_reason() -> None:
    state = in_phase(with_cast(scheduled()), Phase.DEBATE)
    out = decide(state, c.CallIn("plaintiff"), actor("judge"), NOW)
    assert isinstance(out, Rejected) and out.code is Refusal.WRONG_PRESENCE
    assert "in hearing" in out.reason


def test_waiting_witness_has_only_supervision_routes() -> None:
    state = in_phase(with_cast(scheduled(), {"witness": Presence.WAITING_ROOM}), Phase.EVIDENCE)
    plan = media_plan(state)
    to_witness = {r for r in plan if r.destination == "witness"}
    from_witness = {r for r in plan if r.source == "witness"}
    assert to_witness == {Route("clerk", k, "witness", Link.SUPERVISION) for k in AV}
    assert from_witness == {Route("witness", k, "clerk", Link.SUPERVISION) for k in AV}


def test_in_hearing_everyone_hears_everyone_who_speaks() -> None:
    state = in_phase(with_cast(scheduled()), Phase.EVIDENCE)
    plan = media_plan(state)
    inside = [p for p, s in state.participants.items() if s.presence is Presence.IN_HEARING]
    speakers = {"judge", "clerk", "plaintiff", "defendant", "lawyer", "witness", "interpreter"}
    expected = {Route(s, k, d) for s in inside if s in speakers for d in inside if d != s for k in AV}
    assert plan == expected
    assert not any(r.source == "observer" for r in plan)  # observers watch, they do not publish
    assert not any("kiosk" in (r.source, r.destination) for r in plan)  # lobby: nothing


def test_cut_and_self_mute_remove_routes_and_restore_brings_them_back() -> None:
    state = in_phase(with_cast(scheduled()), Phase.EVIDENCE)
    state = run(state, c.CutMedia("defendant", MediaKind.AUDIO), "judge")
    assert not any(r.source == "defendant" and r.kind is MediaKind.AUDIO for r in media_plan(state))
    assert any(r.source == "defendant" and r.kind is MediaKind.VIDEO for r in media_plan(state))
    state = run(state, c.RestoreMedia("defendant", MediaKind.AUDIO), "judge")
    assert any(r.source == "defendant" and r.kind is MediaKind.AUDIO for r in media_plan(state))
    state = run(state, c.SetSelfMute(MediaKind.VIDEO, True), "plaintiff")
    assert not any(r.source == "plaintiff" and r.kind is MediaKind.VIDEO for r in media_plan(state))


def test_sealed_hearing_has_no_routes() -> None:
    assert media_plan(in_phase(with_cast(scheduled()), Phase.SEALED)) == frozenset()


def test_idempotent_commands_produce_no_events() -> None:
    state = in_phase(with_cast(scheduled()), Phase.EVIDENCE)
    assert decide(state, c.RestoreMedia("defendant", MediaKind.AUDIO), actor("judge"), NOW) == []
    assert decide(state, c.SetSelfMute(MediaKind.AUDIO, False), actor("defendant"), NOW) == []


def test_leave_then_rejoin_goes_through_the_lobby() -> None:
    state = in_phase(with_cast(scheduled()), Phase.EVIDENCE)
    state = run(state, c.Leave(), "lawyer")
    assert state.participants["lawyer"].presence is Presence.LEFT
    assert not state.participants["lawyer"].connected
    state = run(state, c.Connect(), "lawyer")
    assert state.participants["lawyer"].presence is Presence.LOBBY


def test_target_fixture_in_every_presence_has_consistent_routes() -> None:
    for presence in Presence:
        state = add_target(in_phase(with_cast(scheduled()), Phase.EVIDENCE), presence)
        plan = media_plan(state)
        touching = {r for r in plan if "target" in (r.source, r.destination)}
        if presence is Presence.IN_HEARING:
            assert touching and all(r.link is Link.HEARING for r in touching)
        elif presence is Presence.WAITING_ROOM:
            assert touching and all(r.link is Link.SUPERVISION for r in touching)
        else:
            assert not touching, presence


def test_a_kiosk_supervisor_is_never_admitted_to_the_hearing() -> None:
    state = in_phase(with_cast(scheduled()), Phase.EVIDENCE)
    for command in (c.Admit("kiosk"), c.CallIn("kiosk")):
        out = decide(state, command, actor("judge"), NOW)
        assert isinstance(out, Rejected) and "kiosk supervisor" in out.reason
