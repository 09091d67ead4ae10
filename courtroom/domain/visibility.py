"""What each participant may be told. Isolation covers data as well as media.

A witness outside the hearing must not learn what is said in it: no transcript lines,
no other participant's comings and goings, no chat but their own with the clerk. They see
the hearing's phase and what concerns them alone.
"""

from __future__ import annotations

from . import events as e
from .exhibits import EVENTS as PRESENTING_EVENTS
from .exhibits import may_see_event as may_see_presenting
from .exhibits import presenting_view
from .presence import Presence
from .review import REVIEW_EVENTS
from .roles import STAFF
from .state import HearingState

# Events anyone admitted to the hearing's door may see (with the actor hidden: see actor_for).
_PUBLIC: tuple[type[e.Event], ...] = (e.PhaseChanged,)
# What an actor is called to a participant who may not know who acted.
COURT_ACTOR = "court"
# Discipline flags are for the bench (and inspectors, over REST), not for the one flagged.
_BENCH_ONLY: tuple[type[e.Event], ...] = (
    e.FlagRaised,
    e.FlagClosed,
    e.FlagReviewed,
    *REVIEW_EVENTS,  # evidence clips, exports and views of the recording
    e.NodeStrained,  # the server falling behind: for the bench to decide on a pause
    e.NodeRecovered,
)
# Refusals, security and identity events are for the bench's eyes (and the subject's own).
_STAFF_ONLY: tuple[type[e.Event], ...] = (
    e.CommandRejected,
    e.CommandRejectedSummary,
    e.AccessRefused,
    e.AccessRefusedSummary,
    e.JoinCodeIssued,
    e.RecordingFinished,
    e.MediaGap,
    e.HearingMoved,
    e.IdPhotoRegistered,
    e.IdentityChecked,
    e.IdentityOverridden,
)


def may_see(state: HearingState, viewer: str, event: e.Event, actor: str) -> bool:
    """Whether ``viewer`` may be sent ``event`` (caused by ``actor``) given ``state``."""
    me = state.participant(viewer)
    if me is None:
        return False
    if me.role in STAFF:
        return True
    if isinstance(event, _PUBLIC):
        return True
    if isinstance(event, e.ChatMessage):
        return _may_read(me.presence, viewer, event)
    if isinstance(event, PRESENTING_EVENTS):  # a witness learns of no exhibit but the one shown
        return may_see_presenting(state, me, event)
    if isinstance(event, _BENCH_ONLY):
        return False
    subject = getattr(event, "participant", None)
    if isinstance(event, _STAFF_ONLY):
        own = isinstance(event, e.CommandRejected | e.CommandRejectedSummary) and actor == viewer
        return subject == viewer or own
    if me.presence is Presence.IN_HEARING:
        return True
    return subject == viewer


def _may_read(presence: Presence, viewer: str, msg: e.ChatMessage) -> bool:
    """A chat message, for someone not on the bench: its sender; everyone in the hearing for
    a hearing message; the one addressed for a private message. Bench messages stay with
    the bench, and hearing messages never reach the waiting room."""
    if msg.sender == viewer:
        return True
    if msg.to == "hearing":
        return presence is Presence.IN_HEARING
    return msg.to == f"participant:{viewer}"


def sees_all(state: HearingState, viewer: str) -> bool:
    """The bench, and whoever is in the hearing, see the whole hearing."""
    me = state.participant(viewer)
    return me is not None and (me.role in STAFF or me.presence is Presence.IN_HEARING)


def actor_for(state: HearingState, viewer: str, actor: str) -> str:
    """Who acted, as ``viewer`` may be told: outside the hearing, only themself by name.

    A waiting witness learns that the court changed the phase or sent them back, not
    which participant id did it.
    """
    if actor == viewer or sees_all(state, viewer):
        return actor
    return COURT_ACTOR


def view_for(state: HearingState, viewer: str, *, everything: bool = False) -> dict[str, object]:
    """The part of the hearing state ``viewer`` may see, as plain JSON.

    Outside the hearing (lobby, waiting room, dismissed) a participant is told which court and
    the phase, in which language, and when: no case number, no title, and only themself.
    ``everything``: the whole hearing, as the bench sees it (the registry, inspectors).
    """
    me = state.participant(viewer)
    presenting = presenting_view(state, viewer, everything=everything)  # its own rules
    hearing: dict[str, object] = {
        "hearing_id": state.hearing_id,
        "court": state.court,
        "language": state.language,
        "scheduled_for": state.scheduled_for,
        "phase": state.phase.value,
    }
    if me is None and not everything:
        return {"hearing": hearing, "participants": []}
    everything = everything or sees_all(state, viewer)
    if everything:
        hearing["case_number"] = state.case_number
        hearing["title"] = state.title
        hearing["phase_control_delegated"] = state.phase_control_delegated
        # Whoever is in the hearing knows whether the public is watching it.
        hearing["broadcast"] = state.broadcast.status
        hearing["broadcast_excluded"] = sorted(state.broadcast.excluded)
    people = state.participants.values() if everything or me is None else [me]
    return {
        "hearing": hearing,
        "participants": [
            {
                "participant_id": p.participant_id,
                "role": p.role.value,
                "display_name": p.display_name,
                "presence": p.presence.value,
                "connected": p.connected,
                "cut": sorted(k.value for k in p.cut),
                "self_muted": sorted(k.value for k in p.self_muted),
                "chat_muted": p.chat_muted,
            }
            for p in people
        ],
        "presenting": presenting,
    }
