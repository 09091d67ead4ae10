"""Roles in a hearing and what each may do.

The server checks every command against this table, using the role the hearing's
own log gives the actor (never a role the client claims).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    JUDGE = "judge"
    CLERK = "clerk"
    PLAINTIFF = "plaintiff"
    DEFENDANT = "defendant"
    LAWYER = "lawyer"
    WITNESS = "witness"
    INTERPRETER = "interpreter"
    KIOSK_SUPERVISOR = "kiosk_supervisor"
    INSPECTOR = "inspector"
    OBSERVER = "observer"
    # The court's registry (case management) acting through the REST API; not a participant.
    REGISTRY = "registry"


class Permission(StrEnum):
    SCHEDULE = "schedule"
    INVITE = "invite"
    JOIN = "join"
    PUBLISH_MEDIA = "publish_media"
    OPEN = "open"
    CHANGE_PHASE = "change_phase"
    CLOSE = "close"
    REOPEN = "reopen"
    DELEGATE = "delegate"
    ADMIT = "admit"
    CALL_IN = "call_in"
    SEND_BACK = "send_back"
    DISMISS = "dismiss"
    RECALL = "recall"
    REMOVE = "remove"
    CUT_MEDIA = "cut_media"
    READ_AUDIT_LOG = "read_audit_log"
    CORRECT_TRANSCRIPT = "correct_transcript"
    REGISTER_ID_PHOTO = "register_id_photo"
    OVERRIDE_IDENTITY = "override_identity"
    SIGN = "sign"
    SEAL = "seal"
    REVIEW_FLAGS = "review_flags"
    CHAT = "chat"
    MUTE_CHAT = "mute_chat"
    SUBMIT_EXHIBIT = "submit_exhibit"
    PRESENT = "present"  # exhibits or a screen: the judge, or whom the judge allows
    ALLOW_PRESENTING = "allow_presenting"
    NUMBER_EXHIBIT = "number_exhibit"  # the clerk (or the judge) sets an exhibit's court number
    BROADCAST = "broadcast"  # open the hearing to the public (start, pause, stop, exclude)


P = Permission
_SPEAKER = frozenset({P.JOIN, P.PUBLISH_MEDIA, P.SIGN, P.CHAT, P.PRESENT})
# The parties and their lawyers bring evidence (举证); witnesses and interpreters do not.
_PARTY = _SPEAKER | {P.SUBMIT_EXHIBIT}

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.JUDGE: frozenset(
        {
            P.INVITE,
            P.JOIN,
            P.PUBLISH_MEDIA,
            P.OPEN,
            P.CHANGE_PHASE,
            P.CLOSE,
            P.REOPEN,
            P.DELEGATE,
            P.ADMIT,
            P.CALL_IN,
            P.SEND_BACK,
            P.DISMISS,
            P.RECALL,
            P.REMOVE,
            P.CUT_MEDIA,
            P.READ_AUDIT_LOG,
            P.CORRECT_TRANSCRIPT,
            P.REGISTER_ID_PHOTO,
            P.OVERRIDE_IDENTITY,
            P.SIGN,
            P.SEAL,
            P.CHAT,
            P.MUTE_CHAT,
            P.PRESENT,
            P.ALLOW_PRESENTING,
            P.NUMBER_EXHIBIT,
            P.BROADCAST,
        }
    ),
    Role.CLERK: frozenset(
        {
            P.INVITE,
            P.JOIN,
            P.PUBLISH_MEDIA,
            P.ADMIT,
            P.READ_AUDIT_LOG,
            P.CORRECT_TRANSCRIPT,
            P.REGISTER_ID_PHOTO,
            P.SIGN,
            P.CHAT,
            P.NUMBER_EXHIBIT,
        }
    ),
    Role.PLAINTIFF: _PARTY,
    Role.DEFENDANT: _PARTY,
    Role.LAWYER: _PARTY,
    Role.WITNESS: _SPEAKER,
    Role.INTERPRETER: _SPEAKER,
    Role.KIOSK_SUPERVISOR: frozenset({P.JOIN, P.REGISTER_ID_PHOTO}),
    Role.OBSERVER: frozenset({P.JOIN}),
    Role.INSPECTOR: frozenset({P.READ_AUDIT_LOG, P.REVIEW_FLAGS}),
    Role.REGISTRY: frozenset({P.SCHEDULE, P.INVITE, P.READ_AUDIT_LOG, P.REGISTER_ID_PHOTO}),
}

# Permissions the judge can lend to the clerk for the length of a hearing.
DELEGABLE_TO_CLERK: frozenset[Permission] = frozenset({P.CHANGE_PHASE})

# Court staff go straight into the hearing when they connect; everyone else waits in the lobby.
STAFF: frozenset[Role] = frozenset({Role.JUDGE, Role.CLERK})


def may(role: Role, permission: Permission, *, delegated: bool = False) -> bool:
    """Whether ``role`` holds ``permission``; ``delegated``: the judge lent phase control."""
    if permission in PERMISSIONS[role]:
        return True
    return delegated and role is Role.CLERK and permission in DELEGABLE_TO_CLERK
