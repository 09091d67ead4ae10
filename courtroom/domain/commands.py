"""What actors ask the court to do. Each command names the permission it needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .phases import Phase
from .roles import Permission, Role
from .routing import MediaKind


@dataclass(frozen=True)
class Command:
    NAME: ClassVar[str]
    PERMISSION: ClassVar[Permission]


@dataclass(frozen=True)
class Targeted(Command):
    """A command the bench issues about another participant."""

    participant: str


@dataclass(frozen=True)
class ScheduleHearing(Command):
    NAME = "schedule_hearing"
    PERMISSION = Permission.SCHEDULE
    case_number: str
    title: str
    court: str
    language: str
    scheduled_for: str  # ISO 8601


@dataclass(frozen=True)
class InviteParticipant(Command):
    NAME = "invite_participant"
    PERMISSION = Permission.INVITE
    participant: str
    role: Role
    display_name: str


# --- a participant about themself -------------------------------------------------------


@dataclass(frozen=True)
class Connect(Command):
    """Issued by the server when an authenticated connection opens."""

    NAME = "connect"
    PERMISSION = Permission.JOIN


@dataclass(frozen=True)
class Disconnect(Command):
    """Issued by the server when a connection closes or drops."""

    NAME = "disconnect"
    PERMISSION = Permission.JOIN


@dataclass(frozen=True)
class Leave(Command):
    NAME = "leave"
    PERMISSION = Permission.JOIN


@dataclass(frozen=True)
class SetSelfMute(Command):
    NAME = "set_self_mute"
    PERMISSION = Permission.PUBLISH_MEDIA
    kind: MediaKind
    muted: bool


# --- the bench ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenHearing(Command):
    NAME = "open_hearing"
    PERMISSION = Permission.OPEN


@dataclass(frozen=True)
class ChangePhase(Command):
    NAME = "change_phase"
    PERMISSION = Permission.CHANGE_PHASE
    to: Phase


@dataclass(frozen=True)
class CloseHearing(Command):
    NAME = "close_hearing"
    PERMISSION = Permission.CLOSE


@dataclass(frozen=True)
class ReopenHearing(Command):
    NAME = "reopen_hearing"
    PERMISSION = Permission.REOPEN
    reason: str


@dataclass(frozen=True)
class DelegatePhaseControl(Command):
    NAME = "delegate_phase_control"
    PERMISSION = Permission.DELEGATE
    delegated: bool


@dataclass(frozen=True)
class Admit(Targeted):
    NAME = "admit"
    PERMISSION = Permission.ADMIT


@dataclass(frozen=True)
class CallIn(Targeted):
    NAME = "call_in"
    PERMISSION = Permission.CALL_IN


@dataclass(frozen=True)
class SendBack(Targeted):
    """Back to the waiting room (the witness is sent out)."""

    NAME = "send_back"
    PERMISSION = Permission.SEND_BACK


@dataclass(frozen=True)
class Dismiss(Targeted):
    NAME = "dismiss"
    PERMISSION = Permission.DISMISS


@dataclass(frozen=True)
class Recall(Targeted):
    """A new call for a dismissed participant: they may connect again and wait."""

    NAME = "recall"
    PERMISSION = Permission.RECALL


@dataclass(frozen=True)
class Remove(Targeted):
    NAME = "remove"
    PERMISSION = Permission.REMOVE


@dataclass(frozen=True)
class CutMedia(Targeted):
    NAME = "cut_media"
    PERMISSION = Permission.CUT_MEDIA
    kind: MediaKind


@dataclass(frozen=True)
class RestoreMedia(Targeted):
    NAME = "restore_media"
    PERMISSION = Permission.CUT_MEDIA
    kind: MediaKind


@dataclass(frozen=True)
class CorrectLine(Command):
    NAME = "correct_line"
    PERMISSION = Permission.CORRECT_TRANSCRIPT
    line_id: str
    text: str


@dataclass(frozen=True)
class RegisterIdPhoto(Targeted):
    """Issued by the server once the uploaded photo is stored and has exactly one face."""

    NAME = "register_id_photo"
    PERMISSION = Permission.REGISTER_ID_PHOTO
    sha256: str


@dataclass(frozen=True)
class OverrideIdentity(Targeted):
    """The judge admits despite a failed face match, for the record."""

    NAME = "override_identity"
    PERMISSION = Permission.OVERRIDE_IDENTITY
    reason: str


@dataclass(frozen=True)
class RegisterSigningKey(Command):
    NAME = "register_signing_key"
    PERMISSION = Permission.SIGN
    public_key: str  # JWK, as JSON text


@dataclass(frozen=True)
class SignDocument(Command):
    """The server checks the signature against the registered key before deciding."""

    NAME = "sign_document"
    PERMISSION = Permission.SIGN
    purpose: str  # "oath" or "record"
    signed_hash: str
    signature: str  # base64 raw r||s (WebCrypto)
    stroke_sha256: str


@dataclass(frozen=True)
class RefuseToSign(Command):
    NAME = "refuse_to_sign"
    PERMISSION = Permission.SIGN
    purpose: str
    reason: str


@dataclass(frozen=True)
class SealRecord(Command):
    """Issued for the judge by the server once it has built and sealed the PDF."""

    NAME = "seal_record"
    PERMISSION = Permission.SEAL
    document_hash: str
    sealed_sha256: str


@dataclass(frozen=True)
class ReviewFlag(Command):
    NAME = "review_flag"
    PERMISSION = Permission.REVIEW_FLAGS
    flag_id: str
    disposition: str  # "confirmed" or "dismissed"
    note: str


COMMAND_TYPES: dict[str, type[Command]] = {
    c.NAME: c
    for c in (
        ScheduleHearing,
        InviteParticipant,
        Connect,
        Disconnect,
        Leave,
        SetSelfMute,
        OpenHearing,
        ChangePhase,
        CloseHearing,
        ReopenHearing,
        DelegatePhaseControl,
        Admit,
        CallIn,
        SendBack,
        Dismiss,
        Recall,
        Remove,
        CutMedia,
        RestoreMedia,
        CorrectLine,
        RegisterIdPhoto,
        OverrideIdentity,
        RegisterSigningKey,
        SignDocument,
        RefuseToSign,
        SealRecord,
        ReviewFlag,
    )
}

# Commands a client may send over the websocket. Connect/Disconnect are the server's,
# scheduling and inviting go through the REST API.
CLIENT_COMMANDS: frozenset[str] = frozenset(COMMAND_TYPES) - {
    Connect.NAME,
    Disconnect.NAME,
    ScheduleHearing.NAME,
    InviteParticipant.NAME,
    RegisterIdPhoto.NAME,  # REST upload: the server stores and checks the photo first
    SealRecord.NAME,  # REST: the server builds the PDF first
    ReviewFlag.NAME,  # REST: inspectors are not hearing participants
}
