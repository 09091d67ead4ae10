"""What each participant may be told. Isolation covers data as well as media.

A witness outside the hearing must not learn what is said in it: no transcript lines,
no other participant's comings and goings. They see the hearing's phase and what
concerns them alone.
"""

from __future__ import annotations

from . import events as e
from .hearing import HearingState
from .presence import Presence
from .roles import STAFF

# Events anyone admitted to the hearing's door may see.
_PUBLIC: tuple[type[e.Event], ...] = (e.HearingScheduled, e.PhaseChanged)
# Refusals and security events are for the bench's eyes (and the subject's own).
_STAFF_ONLY: tuple[type[e.Event], ...] = (e.CommandRejected, e.AccessRefused, e.JoinCodeIssued)


def may_see(state: HearingState, viewer: str, event: e.Event, actor: str) -> bool:
    """Whether ``viewer`` may be sent ``event`` (caused by ``actor``) given ``state``."""
    me = state.participant(viewer)
    if me is None:
        return False
    if me.role in STAFF:
        return True
    if isinstance(event, _PUBLIC):
        return True
    subject = getattr(event, "participant", None)
    if isinstance(event, _STAFF_ONLY):
        return subject == viewer or (isinstance(event, e.CommandRejected) and actor == viewer)
    if me.presence is Presence.IN_HEARING:
        return True
    return subject == viewer
