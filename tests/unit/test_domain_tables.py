"""Every (role, command, phase) cell of the permission and transition tables.

The expectations below are written out by hand from the court's rules, independently
of the tables in courtroom/domain, so that a change to either shows up here.
"""

from __future__ import annotations

import itertools

import pytest
from domain_fixtures import NOW, actor, add_target, in_phase, scheduled, with_cast

from courtroom.domain import commands as c
from courtroom.domain import events as e
from courtroom.domain.errors import Refusal, Rejected
from courtroom.domain.hearing import HearingState, decide, evolve
from courtroom.domain.phases import Phase
from courtroom.domain.presence import Presence
from courtroom.domain.routing import MediaKind

ALL_ACTORS = ["registry", "inspector", "judge", "clerk", "plaintiff", "defendant", "lawyer",
              "witness", "interpreter", "kiosk", "observer"]
JOINERS = {"judge", "clerk", "plaintiff", "defendant", "lawyer", "witness", "interpreter", "kiosk", "observer"}
SPEAKERS = {"judge", "clerk", "plaintiff", "defendant", "lawyer", "witness", "interpreter"}
LIVE = set(Phase) - {Phase.SEALED}
OPEN = {Phase.OPENING, Phase.INVESTIGATION, Phase.EVIDENCE, Phase.DEBATE, Phase.FINAL_STATEMENTS}
NEXT = {Phase.OPENING: Phase.INVESTIGATION, Phase.INVESTIGATION: Phase.EVIDENCE,
        Phase.EVIDENCE: Phase.DEBATE, Phase.DEBATE: Phase.FINAL_STATEMENTS,
        Phase.FINAL_STATEMENTS: Phase.DEBATE}

EXHIBIT = "ex-" + "ab" * 8

# command name -> (who may issue it, phases in which it is accepted, target's presence, command)
CASES: dict[str, tuple[set[str], set[Phase], Presence | None, c.Command]] = {
    "invite_participant": ({"registry", "judge", "clerk"}, {Phase.SCHEDULED} | OPEN, None,
                           c.InviteParticipant("newcomer", c.Role.LAWYER, "New Lawyer")),
    "connect": (JOINERS, set(Phase), None, c.Connect()),
    "disconnect": (JOINERS, set(Phase), None, c.Disconnect()),
    "leave": (JOINERS, LIVE, None, c.Leave()),
    "set_self_mute": (SPEAKERS, LIVE, None, c.SetSelfMute(MediaKind.AUDIO, True)),
    "open_hearing": ({"judge"}, {Phase.SCHEDULED}, None, c.OpenHearing()),
    "close_hearing": ({"judge"}, OPEN, None, c.CloseHearing()),
    "reopen_hearing": ({"judge"}, {Phase.CLOSED}, None, c.ReopenHearing("new evidence")),
    "delegate_phase_control": ({"judge"}, {Phase.SCHEDULED} | OPEN, None, c.DelegatePhaseControl(True)),
    "admit": ({"judge", "clerk"}, {Phase.SCHEDULED} | OPEN, Presence.LOBBY, c.Admit("target")),
    "call_in": ({"judge"}, OPEN, Presence.WAITING_ROOM, c.CallIn("target")),
    "send_back": ({"judge"}, LIVE, Presence.IN_HEARING, c.SendBack("target")),
    "dismiss": ({"judge"}, LIVE, Presence.WAITING_ROOM, c.Dismiss("target")),
    "recall": ({"judge"}, LIVE, Presence.DISMISSED, c.Recall("target")),
    "remove": ({"judge"}, LIVE, Presence.IN_HEARING, c.Remove("target")),
    "cut_media": ({"judge"}, LIVE, Presence.IN_HEARING, c.CutMedia("target", MediaKind.VIDEO)),
    "restore_media": ({"judge"}, LIVE, Presence.IN_HEARING, c.RestoreMedia("target", MediaKind.VIDEO)),
    "correct_line": ({"judge", "clerk"}, {Phase.SCHEDULED} | OPEN, None, c.CorrectLine("L1", "被告：我没有借过钱。")),
    "register_id_photo": ({"registry", "judge", "clerk", "kiosk"}, LIVE, Presence.LOBBY, c.RegisterIdPhoto("target", "a" * 64)),
    "override_identity": ({"judge"}, LIVE, Presence.LOBBY, c.OverrideIdentity("target", "the clerk knows her")),
    "register_signing_key": (SPEAKERS, LIVE, None, c.RegisterSigningKey('{"kty":"EC"}')),
    "sign_document": (SPEAKERS, {Phase.CLOSED}, None, c.SignDocument("record", "ab" * 32, "c2ln", "cd" * 32)),
    "refuse_to_sign": (SPEAKERS, {Phase.CLOSED}, None, c.RefuseToSign("record", "the transcript is wrong")),
    "seal_record": ({"judge"}, {Phase.CLOSED}, None, c.SealRecord("ab" * 32, "ef" * 32)),
    "review_flag": ({"inspector"}, set(Phase), None, c.ReviewFlag("F1", "dismissed", "drinking water")),
    "send_message": (SPEAKERS, {Phase.SCHEDULED} | OPEN, None, c.SendMessage("hearing", "请出示证据。")),
    "typing": (SPEAKERS, {Phase.SCHEDULED} | OPEN, None, c.Typing("hearing")),
    "mute_chat": ({"judge"}, LIVE, Presence.IN_HEARING, c.MuteChat("target")),
    "unmute_chat": ({"judge"}, LIVE, Presence.IN_HEARING, c.UnmuteChat("target")),
    # exhibits: the state holds the plaintiff's exhibit, shown by the judge for stop_presenting;
    # nobody but the judge has been allowed to present or share (exhibits.py)
    "submit_exhibit": ({"plaintiff", "defendant", "lawyer"}, {Phase.SCHEDULED} | OPEN, None,
                       c.SubmitExhibit("cd" * 32, "application/pdf", 3, 1000, "借条.pdf", "")),
    "present_exhibit": ({"judge"}, OPEN, None, c.PresentExhibit(EXHIBIT, 2)),
    "stop_presenting": ({"judge"}, LIVE, None, c.StopPresenting()),
    "allow_presenting": ({"judge"}, LIVE, Presence.IN_HEARING, c.AllowPresenting("target", "screen", True)),
    "share_screen": ({"judge"}, OPEN, None, c.ShareScreen(True)),
    "number_exhibit": ({"judge", "clerk"}, {Phase.SCHEDULED} | OPEN, None, c.NumberExhibit(EXHIBIT, "原告证据3")),
    "announce_broadcast": ({"judge"}, {Phase.SCHEDULED} | OPEN, None, c.AnnounceBroadcast(True)),
    "start_broadcast": ({"judge"}, OPEN, None, c.StartBroadcast()),
    "pause_broadcast": ({"judge"}, LIVE, None, c.PauseBroadcast()),
    "resume_broadcast": ({"judge"}, OPEN, None, c.ResumeBroadcast()),
    "stop_broadcast": ({"judge"}, LIVE, None, c.StopBroadcast()),
    "exclude_from_broadcast": ({"judge"}, LIVE, Presence.IN_HEARING, c.ExcludeFromBroadcast("target")),
    "include_in_broadcast": ({"judge"}, LIVE, Presence.IN_HEARING, c.IncludeInBroadcast("target")),
}


def test_every_client_and_server_command_is_covered() -> None:
    assert set(CASES) | {"schedule_hearing", "change_phase"} == set(c.COMMAND_TYPES)


def _state(phase: Phase, target: Presence | None, name: str) -> HearingState:
    state = with_cast(scheduled())
    if name == "correct_line":
        state = evolve(state, e.TranscriptLineRecorded("L1", "defendant", "被告我没有接过钱", 1.0, 2.5, (), "vosk-test"))
    if name == "sign_document":
        for pid in SPEAKERS:
            state = evolve(state, e.SigningKeyRegistered(pid, '{"kty":"EC"}'))
    if name in ("present_exhibit", "stop_presenting", "number_exhibit"):
        state = evolve(state, e.ExhibitSubmitted(EXHIBIT, "原告证据1", "plaintiff", "plaintiff", "ab" * 32, "application/pdf", 3, 1000, "借条.pdf"))
    if name == "stop_presenting":
        state = evolve(state, e.ExhibitPresented(EXHIBIT, 1, "judge"))
    if name == "review_flag":
        state = evolve(state, e.FlagRaised("F1", "defendant", "phone", 12.0, 0.8, {"yolox": "nano"}, "ab" * 32, 12.5))
    if name in ("pause_broadcast", "resume_broadcast", "stop_broadcast"):
        state = evolve(state, e.BroadcastStarted(1))
    if name == "resume_broadcast":
        state = evolve(state, e.BroadcastPaused(1))
    state = in_phase(state, phase)
    if target is not None:
        state = add_target(state, target)
        if name == "restore_media":
            state = evolve(state, e.MediaCut("target", MediaKind.VIDEO))
        if name == "include_in_broadcast":
            state = evolve(state, e.BroadcastExclusionChanged("target", True))
        if name == "unmute_chat":
            state = evolve(state, e.ChatMuteChanged("target", True))
        if name == "override_identity":
            state = evolve(state, e.IdPhotoRegistered("target", "a" * 64))
            state = evolve(state, e.IdentityChecked("target", "entry", False, 0.71, "the face does not match", "dlib"))
    return state


@pytest.mark.parametrize(("name", "who", "phase"), list(itertools.product(CASES, ALL_ACTORS, Phase)))
def test_cell(name: str, who: str, phase: Phase) -> None:
    allowed_roles, allowed_phases, target, command = CASES[name]
    state = _state(phase, target, name)
    if name == "submit_exhibit" and who == "lawyer":
        command = c.SubmitExhibit("cd" * 32, "application/pdf", 3, 1000, "借条.pdf", "defendant")
    out = decide(state, command, actor(who), NOW)
    if who not in allowed_roles:
        assert isinstance(out, Rejected), out
        assert out.code is Refusal.FORBIDDEN
    elif phase in allowed_phases:
        # typing is the one command that, accepted, records nothing (it is ephemeral)
        assert isinstance(out, list) and (out or name == "typing"), out
    else:
        assert isinstance(out, Rejected), out
        assert out.code in (Refusal.WRONG_PHASE, Refusal.INVALID_TRANSITION)


@pytest.mark.parametrize(("who", "phase", "delegated"), list(itertools.product(ALL_ACTORS, Phase, [False, True])))
def test_change_phase_cell(who: str, phase: Phase, delegated: bool) -> None:
    state = in_phase(with_cast(scheduled()), phase)
    if delegated:
        state = evolve(state, e.PhaseControlDelegated(True))
    to = NEXT.get(phase, Phase.INVESTIGATION)
    out = decide(state, c.ChangePhase(to), actor(who), NOW)
    may_move = who == "judge" or (who == "clerk" and delegated)
    if not may_move:
        assert isinstance(out, Rejected) and out.code is Refusal.FORBIDDEN
    elif phase in OPEN:
        assert out == [e.PhaseChanged(to, phase)]
    else:
        assert isinstance(out, Rejected) and out.code is Refusal.INVALID_TRANSITION


# Every (from, to) pair of phases for ChangePhase, by hand.
MOVES = {
    (Phase.OPENING, Phase.INVESTIGATION), (Phase.INVESTIGATION, Phase.EVIDENCE),
    (Phase.EVIDENCE, Phase.INVESTIGATION), (Phase.EVIDENCE, Phase.DEBATE),
    (Phase.DEBATE, Phase.INVESTIGATION), (Phase.DEBATE, Phase.EVIDENCE),
    (Phase.DEBATE, Phase.FINAL_STATEMENTS), (Phase.FINAL_STATEMENTS, Phase.DEBATE),
}


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(Phase, Phase)))
def test_transition_cell(src: Phase, dst: Phase) -> None:
    state = in_phase(with_cast(scheduled()), src)
    out = decide(state, c.ChangePhase(dst), actor("judge"), NOW)
    if (src, dst) in MOVES:
        assert out == [e.PhaseChanged(dst, src)]
    else:
        assert isinstance(out, Rejected) and out.code is Refusal.INVALID_TRANSITION


def test_open_close_reopen_round_trip() -> None:
    state = with_cast(scheduled())
    for command, phase in [(c.OpenHearing(), Phase.OPENING), (c.ChangePhase(Phase.INVESTIGATION), Phase.INVESTIGATION),
                           (c.CloseHearing(), Phase.CLOSED), (c.ReopenHearing("late exhibit"), Phase.INVESTIGATION)]:
        out = decide(state, command, actor("judge"), NOW)
        assert isinstance(out, list), out
        for ev in out:
            state = evolve(state, ev)
        assert state.phase is phase
    assert isinstance(decide(state, c.ReopenHearing("again"), actor("judge"), NOW), Rejected)


def test_reopen_needs_a_reason() -> None:
    state = in_phase(with_cast(scheduled()), Phase.CLOSED)
    out = decide(state, c.ReopenHearing("  "), actor("judge"), NOW)
    assert isinstance(out, Rejected) and out.code is Refusal.INVALID


@pytest.mark.parametrize("who", ALL_ACTORS)
def test_only_the_registry_schedules(who: str) -> None:
    from courtroom.domain.hearing import HearingState as H

    cmd = c.ScheduleHearing("(2026)京0105民初1号", "t", "court", "zh", "2026-11-23T09:00:00+08:00")
    out = decide(H("new"), cmd, actor(who), NOW)
    if who == "registry":
        assert isinstance(out, list) and isinstance(out[0], e.HearingScheduled)
    else:
        assert isinstance(out, Rejected) and out.code is Refusal.FORBIDDEN
    again = decide(scheduled(), cmd, actor("registry"), NOW)
    assert isinstance(again, Rejected) and again.code is Refusal.ALREADY_EXISTS


@pytest.mark.parametrize("when", ["tomorrow", "2026-11-23T09:00:00"])
def test_schedule_validates_time(when: str) -> None:
    from courtroom.domain.hearing import HearingState as H

    out = decide(H("new"), c.ScheduleHearing("1", "t", "court", "zh", when), actor("registry"), NOW)
    assert isinstance(out, Rejected) and out.code is Refusal.INVALID


def test_commands_on_an_unscheduled_hearing_are_refused() -> None:
    from courtroom.domain.hearing import HearingState as H

    out = decide(H("nope"), c.OpenHearing(), actor("judge"), NOW)
    assert isinstance(out, Rejected) and out.code is Refusal.NOT_SCHEDULED


def test_a_client_cannot_claim_another_role() -> None:
    from courtroom.domain.hearing import Actor
    from courtroom.domain.roles import Role

    state = in_phase(with_cast(scheduled()), Phase.OPENING)
    out = decide(state, c.CloseHearing(), Actor("witness", Role.JUDGE), NOW)
    assert isinstance(out, Rejected) and out.code is Refusal.UNKNOWN_PARTICIPANT
