"""Where a participant is: invited -> lobby -> waiting room -> in hearing -> out."""

from __future__ import annotations

from enum import StrEnum


class Presence(StrEnum):
    INVITED = "invited"
    LOBBY = "lobby"  # connected, identity pending, not yet admitted
    WAITING_ROOM = "waiting_room"  # admitted, kept out of the hearing (witnesses)
    IN_HEARING = "in_hearing"
    DISMISSED = "dismissed"  # sent away; only a recall lets them back
    REMOVED = "removed"  # put out for good
    LEFT = "left"


class Reason(StrEnum):
    """Why presence changed; the audit log reads as the court acted."""

    JOINED = "joined"
    ADMITTED = "admitted"
    CALLED_IN = "called_in"
    SENT_BACK = "sent_back"
    DISMISSED = "dismissed"
    RECALLED = "recalled"
    REMOVED = "removed"
    LEFT = "left"


# A participant in one of these may connect; the rest are refused at the door.
MAY_CONNECT: frozenset[Presence] = frozenset(
    {Presence.INVITED, Presence.LOBBY, Presence.WAITING_ROOM, Presence.IN_HEARING, Presence.LEFT}
)
