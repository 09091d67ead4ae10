"""Builders for hearing states used by the domain tests (plain events, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

from courtroom.domain import events as e
from courtroom.domain.hearing import Actor, HearingState, evolve, replay
from courtroom.domain.phases import Phase
from courtroom.domain.presence import Presence, Reason
from courtroom.domain.roles import Role

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)

# One participant of every joining role; ids read as the role.
CAST: dict[str, Role] = {
    "judge": Role.JUDGE,
    "clerk": Role.CLERK,
    "plaintiff": Role.PLAINTIFF,
    "defendant": Role.DEFENDANT,
    "lawyer": Role.LAWYER,
    "witness": Role.WITNESS,
    "interpreter": Role.INTERPRETER,
    "kiosk": Role.KIOSK_SUPERVISOR,
    "observer": Role.OBSERVER,
}


def actor(pid: str) -> Actor:
    if pid == "registry":
        return Actor("registry", Role.REGISTRY)
    if pid == "inspector":
        return Actor("inspector", Role.INSPECTOR)
    return Actor(pid, CAST.get(pid, Role.WITNESS))


def scheduled() -> HearingState:
    return replay("h1", [e.HearingScheduled("(2026)京0105民初12345号", "Loan dispute", "Beijing Chaoyang", "zh", "2026-11-23T09:00:00+08:00")])


def with_cast(state: HearingState, presence_of: dict[str, Presence] | None = None) -> HearingState:
    presence_of = presence_of or {}
    for pid, role in CAST.items():
        state = evolve(state, e.ParticipantInvited(pid, role, pid.title()))
        state = evolve(state, e.ParticipantConnected(pid))
        default = Presence.LOBBY if role is Role.KIOSK_SUPERVISOR else Presence.IN_HEARING
        state = evolve(state, e.PresenceChanged(pid, presence_of.get(pid, default), Reason.JOINED))
    return state


def in_phase(state: HearingState, phase: Phase) -> HearingState:
    if phase is Phase.SCHEDULED:
        return state
    if phase in (Phase.CLOSED, Phase.SEALED):
        state = evolve(state, e.PhaseChanged(Phase.DEBATE, state.phase))
        state = evolve(state, e.PhaseChanged(Phase.CLOSED, Phase.DEBATE, "closed"))
        if phase is Phase.SEALED:
            state = evolve(state, e.PhaseChanged(Phase.SEALED, Phase.CLOSED, "sealed"))
        return state
    return evolve(state, e.PhaseChanged(phase, state.phase))


def add_target(state: HearingState, presence: Presence, pid: str = "target") -> HearingState:
    """A second witness in a given presence: the one the bench acts on."""
    state = evolve(state, e.ParticipantInvited(pid, Role.WITNESS, "Target Witness"))
    if presence is not Presence.INVITED:
        state = evolve(state, e.ParticipantConnected(pid))
        state = evolve(state, e.PresenceChanged(pid, presence, Reason.JOINED))
    return state
