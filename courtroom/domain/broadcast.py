"""The public broadcast (庭审公开): who the public may see and hear, decided once.

The judge announces, starts, pauses, resumes and stops a delayed public livestream of the
hearing, and may keep any participant out of it (e.g. a minor: the domain knows no ages, so
the judge excludes them by name). ``broadcast_feeds(state)`` is the one place that says
which (participant, kind) the public may receive now, as ``routing.media_plan`` is for the
participants: the composition encoder (``courtroom/broadcast/``) reads only these.

Never published, whatever the judge does: a witness (waiting or called in), anyone not in
the hearing (lobby, waiting room, dismissed ...), observers and kiosk supervisors, a cut or
self-muted kind, and anything at all while the broadcast is paused or the hearing is not in
an open phase. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from . import commands as c
from . import events as e
from .errors import Refusal, Rejected
from .phases import OPEN_PHASES, Phase
from .presence import Presence
from .roles import Role
from .routing import MediaKind

if TYPE_CHECKING:
    from .state import Actor, HearingState

# Roles that may appear in the public broadcast. Witnesses never do (their testimony is
# heard by the court, not by the public, in this court's practice); observers and kiosk
# supervisors do not publish at all.
BROADCAST_ROLES: frozenset[Role] = frozenset(
    {Role.JUDGE, Role.CLERK, Role.PLAINTIFF, Role.DEFENDANT, Role.LAWYER, Role.INTERPRETER}
)
# The bench is always in the picture; the parties share the other half by who speaks.
BENCH_ROLES: frozenset[Role] = frozenset({Role.JUDGE, Role.CLERK})

_LIVE_PHASES: frozenset[Phase] = frozenset(Phase) - {Phase.SEALED}


@dataclass(frozen=True)
class BroadcastState:
    listed: bool = False  # announced on the public listing
    number: int = 0  # broadcasts started so far; the current one's number while live
    live: bool = False  # started and not stopped
    paused: bool = False
    excluded: frozenset[str] = frozenset()

    @property
    def status(self) -> str:
        """``off``, ``announced``, ``live`` or ``paused``: what the public listing shows."""
        if self.live:
            return "paused" if self.paused else "live"
        return "announced" if self.listed else "off"


def broadcast_feeds(state: HearingState) -> frozenset[tuple[str, MediaKind]]:
    """What the public may receive now: (participant, kind) pairs; empty unless on air."""
    b = state.broadcast
    if not b.live or b.paused or state.phase not in OPEN_PHASES:
        return frozenset()
    return frozenset(
        (p.participant_id, kind)
        for p in state.participants.values()
        if p.role in BROADCAST_ROLES
        and p.presence is Presence.IN_HEARING
        and p.participant_id not in b.excluded
        for kind in MediaKind
        if not p.silenced(kind)
    )


def fold(b: BroadcastState, event: e.Event) -> BroadcastState:
    """The broadcast part of ``evolve``."""
    match event:
        case e.BroadcastAnnounced():
            return replace(b, listed=event.listed)
        case e.BroadcastStarted():
            return replace(b, number=event.number, live=True, paused=False)
        case e.BroadcastPaused():
            return replace(b, paused=True)
        case e.BroadcastResumed():
            return replace(b, paused=False)
        case e.BroadcastStopped():
            return replace(b, live=False, paused=False)
        case e.BroadcastExclusionChanged():
            excluded = b.excluded | {event.participant} if event.excluded else b.excluded
            if not event.excluded:
                excluded = excluded - {event.participant}
            return replace(b, excluded=excluded)
    return b


Decision = list[e.Event] | Rejected


def _phase(state: HearingState, allowed: frozenset[Phase], what: str) -> Rejected | None:
    if state.phase in allowed:
        return None
    return Rejected(Refusal.WRONG_PHASE, f"cannot {what} while the hearing is {state.phase.value}")


def _announce(state: HearingState, cmd: c.AnnounceBroadcast, actor: Actor) -> Decision:
    if (err := _phase(state, frozenset({Phase.SCHEDULED, *OPEN_PHASES}), "announce")) is not None:
        return err
    if state.broadcast.listed == cmd.listed:
        return Rejected(Refusal.INVALID, "the listing already says so")
    return [e.BroadcastAnnounced(cmd.listed)]


def _start(state: HearingState, cmd: c.StartBroadcast, actor: Actor) -> Decision:
    if (err := _phase(state, OPEN_PHASES, "start a broadcast")) is not None:
        return err
    if state.broadcast.live:
        return Rejected(Refusal.ALREADY_EXISTS, "the hearing is already being broadcast")
    return [e.BroadcastStarted(state.broadcast.number + 1)]


def _on_air(
    state: HearingState, what: str, *, paused: bool | None
) -> Rejected | None:
    if (err := _phase(state, _LIVE_PHASES, what)) is not None:
        return err
    b = state.broadcast
    if not b.live:
        return Rejected(Refusal.INVALID, "the hearing is not being broadcast")
    if paused is not None and b.paused is not paused:
        return Rejected(Refusal.INVALID, "the broadcast is " + ("live" if paused else "paused"))
    return None


def _pause(state: HearingState, cmd: c.PauseBroadcast, actor: Actor) -> Decision:
    err = _on_air(state, "pause the broadcast", paused=False)
    return err or [e.BroadcastPaused(state.broadcast.number)]


def _resume(state: HearingState, cmd: c.ResumeBroadcast, actor: Actor) -> Decision:
    err = _on_air(state, "resume the broadcast", paused=True)
    if err is None and state.phase not in OPEN_PHASES:
        err = Rejected(Refusal.WRONG_PHASE, f"the hearing is {state.phase.value}")
    return err or [e.BroadcastResumed(state.broadcast.number)]


def _stop(state: HearingState, cmd: c.StopBroadcast, actor: Actor) -> Decision:
    err = _on_air(state, "stop the broadcast", paused=None)
    return err or [e.BroadcastStopped(state.broadcast.number)]


def _exclusion(excluded: bool) -> Callable[[HearingState, c.Targeted, Actor], Decision]:
    def handle(state: HearingState, cmd: c.Targeted, actor: Actor) -> Decision:
        if (err := _phase(state, _LIVE_PHASES, "change the broadcast")) is not None:
            return err
        if state.participant(cmd.participant) is None:
            return Rejected(Refusal.UNKNOWN_PARTICIPANT, "no such participant in this hearing")
        if (cmd.participant in state.broadcast.excluded) is excluded:
            return Rejected(
                Refusal.INVALID, "already " + ("excluded" if excluded else "included")
            )
        return [e.BroadcastExclusionChanged(cmd.participant, excluded)]

    return handle


HANDLERS: dict[type[c.Command], Callable[[HearingState, Any, Actor], Decision]] = {
    c.AnnounceBroadcast: _announce,
    c.StartBroadcast: _start,
    c.PauseBroadcast: _pause,
    c.ResumeBroadcast: _resume,
    c.StopBroadcast: _stop,
    c.ExcludeFromBroadcast: _exclusion(True),
    c.IncludeInBroadcast: _exclusion(False),
}
