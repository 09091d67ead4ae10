"""The media plan: who may hear and see whom, derived from hearing state.

The media layer never decides routing itself; it applies the difference between
the old and the new plan. This module is the one place where witness isolation is
decided: a participant who is not in the hearing has no hearing route at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from .phases import Phase
from .presence import Presence
from .roles import Permission, Role, may

if TYPE_CHECKING:
    from .state import HearingState, ParticipantState


class MediaKind(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"
    SCREEN = "screen"  # a shared screen or window: a video track of its own

    @property
    def is_video(self) -> bool:
        """A camera or a screen: video on the wire (SDP, RTP, keyframes)."""
        return self is not MediaKind.AUDIO

    @property
    def sdp(self) -> str:
        """The media type on the wire: a screen is video."""
        return "video" if self.is_video else "audio"


# Camera and microphone: what every participant in the hearing publishes.
AV: tuple[MediaKind, MediaKind] = (MediaKind.AUDIO, MediaKind.VIDEO)


class Link(StrEnum):
    """Which conversation a route belongs to. The two never share a route."""

    HEARING = "hearing"
    SUPERVISION = "supervision"  # waiting room: clerk <-> waiting participant


@dataclass(frozen=True, order=True)
class Route:
    """Forward ``source``'s ``kind`` track to ``destination``."""

    source: str
    kind: MediaKind
    destination: str
    link: Link = Link.HEARING


MediaPlan = frozenset[Route]


def media_plan(state: HearingState) -> MediaPlan:
    """Every route the court allows right now.

    - Hearing routes join participants who are in the hearing, from each one who may
      publish and is neither cut nor self-muted for that kind.
    - Supervision routes join each waiting-room participant with the clerks, both ways.
    - Nobody else gets anything: lobby, dismissed, removed, left and invited participants
      have no route at all, and a sealed hearing has none.
    """
    if state.phase is Phase.SEALED:
        return frozenset()
    people = list(state.participants.values())
    inside = [p for p in people if p.presence is Presence.IN_HEARING]
    waiting = [p for p in people if p.presence is Presence.WAITING_ROOM]
    clerks = [p for p in inside if p.role is Role.CLERK]
    routes: set[Route] = set()

    def publishes(p: ParticipantState, kind: MediaKind) -> bool:
        return may(p.role, Permission.PUBLISH_MEDIA) and not p.silenced(kind)

    for kind in AV:
        for src in inside:
            if publishes(src, kind):
                routes.update(
                    Route(src.participant_id, kind, dst.participant_id)
                    for dst in inside
                    if dst.participant_id != src.participant_id
                )
        for w in waiting:
            for clerk in clerks:
                if publishes(clerk, kind):
                    routes.add(
                        Route(clerk.participant_id, kind, w.participant_id, Link.SUPERVISION)
                    )
                if publishes(w, kind):
                    routes.add(
                        Route(w.participant_id, kind, clerk.participant_id, Link.SUPERVISION)
                    )
    # A shared screen goes to the hearing only (never to the waiting room), from whoever the
    # judge allowed and is sharing now, unless cut; like any other track, per destination.
    for src in inside:
        if state.presenting.shares_screen(src.participant_id) and publishes(src, MediaKind.SCREEN):
            routes.update(
                Route(src.participant_id, MediaKind.SCREEN, dst.participant_id)
                for dst in inside
                if dst.participant_id != src.participant_id
            )
    return frozenset(routes)
