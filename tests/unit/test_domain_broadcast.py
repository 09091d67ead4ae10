"""The public broadcast: who the public may see and hear (``broadcast_feeds``), decided once."""

from __future__ import annotations

from domain_fixtures import CAST, NOW, actor, in_phase, scheduled, with_cast
from hypothesis import given, settings
from hypothesis import strategies as st

from courtroom.domain import commands as c
from courtroom.domain import events as e
from courtroom.domain.broadcast import BROADCAST_ROLES, broadcast_feeds
from courtroom.domain.errors import Rejected
from courtroom.domain.hearing import HearingState, decide, evolve
from courtroom.domain.phases import OPEN_PHASES, Phase
from courtroom.domain.presence import Presence
from courtroom.domain.roles import Role
from courtroom.domain.routing import MediaKind

PIDS = [*CAST, "w2"]


def _on_air() -> HearingState:
    state = in_phase(with_cast(scheduled()), Phase.INVESTIGATION)
    out = decide(state, c.StartBroadcast(), actor("judge"), NOW)
    assert out == [e.BroadcastStarted(1)]
    return evolve(state, out[0])


def _people(state: HearingState) -> set[str]:
    return {pid for pid, _ in broadcast_feeds(state)}


def test_default_off_and_nothing_before_start() -> None:
    state = in_phase(with_cast(scheduled()), Phase.INVESTIGATION)
    assert state.broadcast.status == "off"
    assert broadcast_feeds(state) == frozenset()


def test_bench_and_parties_but_never_a_witness_observer_or_kiosk() -> None:
    state = _on_air()
    assert _people(state) == {"judge", "clerk", "plaintiff", "defendant", "lawyer", "interpreter"}


def test_a_witness_called_in_is_still_never_published() -> None:
    state = _on_air()
    assert state.participants["witness"].presence is Presence.IN_HEARING
    assert "witness" not in _people(state)


def test_pause_empties_the_feeds_and_resume_restores_them() -> None:
    state = _on_air()
    state = evolve(state, decide(state, c.PauseBroadcast(), actor("judge"), NOW)[0])  # type: ignore[index]
    assert state.broadcast.status == "paused" and broadcast_feeds(state) == frozenset()
    state = evolve(state, decide(state, c.ResumeBroadcast(), actor("judge"), NOW)[0])  # type: ignore[index]
    assert "judge" in _people(state)


def test_exclusion_and_silenced_kinds() -> None:
    state = _on_air()
    state = evolve(state, e.BroadcastExclusionChanged("defendant", True))
    state = evolve(state, e.MediaCut("plaintiff", MediaKind.VIDEO))
    feeds = broadcast_feeds(state)
    assert not any(pid == "defendant" for pid, _ in feeds)
    assert ("plaintiff", MediaKind.AUDIO) in feeds and ("plaintiff", MediaKind.VIDEO) not in feeds
    state = evolve(state, e.BroadcastExclusionChanged("defendant", False))
    assert "defendant" in _people(state)


def test_closing_the_hearing_takes_it_off_air() -> None:
    state = _on_air()
    state = evolve(state, e.PhaseChanged(Phase.CLOSED, state.phase, "closed"))
    assert state.broadcast.live and broadcast_feeds(state) == frozenset()
    out = decide(state, c.ResumeBroadcast(), actor("judge"), NOW)
    assert isinstance(out, Rejected)


def test_each_start_has_its_own_number() -> None:
    state = _on_air()
    state = evolve(state, e.BroadcastStopped(1))
    out = decide(state, c.StartBroadcast(), actor("judge"), NOW)
    assert out == [e.BroadcastStarted(2)]


def test_double_start_and_unknown_target_are_refused() -> None:
    state = _on_air()
    assert isinstance(decide(state, c.StartBroadcast(), actor("judge"), NOW), Rejected)
    out = decide(state, c.ExcludeFromBroadcast("nobody"), actor("judge"), NOW)
    assert isinstance(out, Rejected)


targets = st.sampled_from(PIDS)
kinds = st.sampled_from(list(MediaKind))
commands = st.one_of(
    st.builds(c.Connect), st.builds(c.Leave), st.builds(c.SetSelfMute, kinds, st.booleans()),
    st.builds(c.OpenHearing), st.builds(c.CloseHearing), st.builds(c.ReopenHearing, st.just("r")),
    st.builds(c.ChangePhase, st.sampled_from(list(Phase))),
    st.builds(c.Admit, targets), st.builds(c.CallIn, targets), st.builds(c.SendBack, targets),
    st.builds(c.Dismiss, targets), st.builds(c.Remove, targets),
    st.builds(c.CutMedia, targets, kinds), st.builds(c.RestoreMedia, targets, kinds),
    st.builds(c.StartBroadcast), st.builds(c.PauseBroadcast), st.builds(c.ResumeBroadcast),
    st.builds(c.StopBroadcast), st.builds(c.ExcludeFromBroadcast, targets),
    st.builds(c.IncludeInBroadcast, targets),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PIDS), commands), max_size=60))
def test_the_public_never_gets_a_witness_or_anyone_outside(seq: list[tuple[str, c.Command]]) -> None:
    state = scheduled()
    for pid in PIDS:
        state = evolve(state, e.ParticipantInvited(pid, CAST.get(pid, Role.WITNESS), pid))
    for who, command in seq:
        out = decide(state, command, actor(who), NOW)
        if isinstance(out, Rejected):
            continue
        for event in out:
            state = evolve(state, event)
        for pid, kind in broadcast_feeds(state):
            p = state.participants[pid]
            assert p.role in BROADCAST_ROLES and p.role is not Role.WITNESS
            assert p.presence is Presence.IN_HEARING and not p.silenced(kind)
            assert pid not in state.broadcast.excluded
            assert state.broadcast.live and not state.broadcast.paused
            assert state.phase in OPEN_PHASES
