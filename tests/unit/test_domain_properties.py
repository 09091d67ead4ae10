"""Over random command sequences, the media plan never leaks hearing media."""

from __future__ import annotations

from domain_fixtures import CAST, NOW, actor, scheduled
from hypothesis import given, settings
from hypothesis import strategies as st

from courtroom.domain import commands as c
from courtroom.domain import events as e
from courtroom.domain.hearing import HearingState, decide, evolve
from courtroom.domain.presence import Presence
from courtroom.domain.roles import Role
from courtroom.domain.routing import Link, MediaKind, media_plan

PIDS = [*CAST, "w2", "w3"]
ROLES = {**CAST, "w2": Role.WITNESS, "w3": Role.WITNESS}

targets = st.sampled_from(PIDS)
kinds = st.sampled_from(list(MediaKind))
commands = st.one_of(
    st.builds(c.Connect), st.builds(c.Disconnect), st.builds(c.Leave),
    st.builds(c.SetSelfMute, kinds, st.booleans()),
    st.builds(c.OpenHearing), st.builds(c.CloseHearing), st.builds(c.ReopenHearing, st.just("r")),
    st.builds(c.ChangePhase, st.sampled_from(list(c.Phase))),
    st.builds(c.DelegatePhaseControl, st.booleans()),
    st.builds(c.Admit, targets), st.builds(c.CallIn, targets), st.builds(c.SendBack, targets),
    st.builds(c.Dismiss, targets), st.builds(c.Recall, targets), st.builds(c.Remove, targets),
    st.builds(c.CutMedia, targets, kinds), st.builds(c.RestoreMedia, targets, kinds),
    st.builds(c.AllowPresenting, targets, st.sampled_from(["exhibits", "screen"]), st.booleans()),
    st.builds(c.ShareScreen, st.booleans()),
)
steps = st.lists(st.tuples(st.sampled_from(PIDS), commands), max_size=60)


def _start() -> HearingState:
    state = scheduled()
    for pid, role in ROLES.items():
        state = evolve(state, e.ParticipantInvited(pid, role, pid))
    return state


def check_plan(state: HearingState) -> None:
    people = state.participants
    for r in media_plan(state):
        src, dst = people[r.source], people[r.destination]
        assert r.source != r.destination
        assert not src.silenced(r.kind)
        if r.link is Link.HEARING:
            assert src.presence is Presence.IN_HEARING and dst.presence is Presence.IN_HEARING
        else:
            pair = {src.presence, dst.presence}
            assert pair == {Presence.IN_HEARING, Presence.WAITING_ROOM}
            clerk = src if src.presence is Presence.IN_HEARING else dst
            assert clerk.role is Role.CLERK
        if r.kind is MediaKind.SCREEN:  # only from whom the judge allowed, while sharing
            assert r.link is Link.HEARING and state.presenting.shares_screen(r.source)
            assert src.role is Role.JUDGE or r.source in state.presenting.may_share
        for p in (src, dst):
            assert p.presence not in (Presence.DISMISSED, Presence.REMOVED, Presence.LEFT, Presence.INVITED, Presence.LOBBY)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_plan_never_leaks(seq: list[tuple[str, c.Command]]) -> None:
    state = _start()
    for who, command in seq:
        a = actor(who)
        a = type(a)(who, ROLES[who])
        out = decide(state, command, a, NOW)
        if isinstance(out, list):
            for ev in out:
                state = evolve(state, ev)
        check_plan(state)
