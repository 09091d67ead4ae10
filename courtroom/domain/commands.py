"""What actors ask the court to do. Each command names the permission it needs."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """The participant leaves the hearing."""

    NAME = "leave"
    PERMISSION = Permission.JOIN


@dataclass(frozen=True)
class SetSelfMute(Command):
    """Mute or unmute one's own audio or video."""

    NAME = "set_self_mute"
    PERMISSION = Permission.PUBLISH_MEDIA
    kind: MediaKind
    muted: bool


# --- the bench ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenHearing(Command):
    """Open the hearing."""

    NAME = "open_hearing"
    PERMISSION = Permission.OPEN


@dataclass(frozen=True)
class ChangePhase(Command):
    """Move the hearing to another phase (the clerk too, when delegated)."""

    NAME = "change_phase"
    PERMISSION = Permission.CHANGE_PHASE
    to: Phase


@dataclass(frozen=True)
class CloseHearing(Command):
    """Close the hearing; the record is frozen for signing."""

    NAME = "close_hearing"
    PERMISSION = Permission.CLOSE


@dataclass(frozen=True)
class ReopenHearing(Command):
    """Reopen a closed (not yet sealed) hearing, for the record's reason."""

    NAME = "reopen_hearing"
    PERMISSION = Permission.REOPEN
    reason: str


@dataclass(frozen=True)
class DelegatePhaseControl(Command):
    """Let the clerk change phases, or take it back."""

    NAME = "delegate_phase_control"
    PERMISSION = Permission.DELEGATE
    delegated: bool


@dataclass(frozen=True)
class Admit(Targeted):
    """Lobby to hearing (parties), or to the waiting room (witnesses; anyone before opening)."""

    NAME = "admit"
    PERMISSION = Permission.ADMIT


@dataclass(frozen=True)
class CallIn(Targeted):
    """Waiting room to hearing."""

    NAME = "call_in"
    PERMISSION = Permission.CALL_IN


@dataclass(frozen=True)
class SendBack(Targeted):
    """Back to the waiting room (the witness is sent out)."""

    NAME = "send_back"
    PERMISSION = Permission.SEND_BACK


@dataclass(frozen=True)
class Dismiss(Targeted):
    """Out; reconnects are refused until a recall."""

    NAME = "dismiss"
    PERMISSION = Permission.DISMISS


@dataclass(frozen=True)
class Recall(Targeted):
    """A new call for a dismissed participant: they may connect again and wait."""

    NAME = "recall"
    PERMISSION = Permission.RECALL


@dataclass(frozen=True)
class Remove(Targeted):
    """Out for good."""

    NAME = "remove"
    PERMISSION = Permission.REMOVE


@dataclass(frozen=True)
class CutMedia(Targeted):
    """Stop forwarding a participant's audio or video."""

    NAME = "cut_media"
    PERMISSION = Permission.CUT_MEDIA
    kind: MediaKind


@dataclass(frozen=True)
class RestoreMedia(Targeted):
    """Forward a cut stream again."""

    NAME = "restore_media"
    PERMISSION = Permission.CUT_MEDIA
    kind: MediaKind


@dataclass(frozen=True)
class CorrectLine(Command):
    """Correct a transcript line while the transcript is open; the original stays."""

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
    """Register the device's signing key, once, after the identity check passed."""

    NAME = "register_signing_key"
    PERMISSION = Permission.SIGN
    public_key: str = field(metadata={"doc": "the device key's public JWK, as JSON text"})


@dataclass(frozen=True)
class SignDocument(Command):
    """The server checks the signature against the registered key before deciding."""

    NAME = "sign_document"
    PERMISSION = Permission.SIGN
    purpose: str = field(metadata={"doc": "`record` (once closed) or `oath` (before the close)"})
    signed_hash: str = field(metadata={"doc": "hex; the current record or oath hash"})
    signature: str = field(
        metadata={
            "doc": "base64 raw r‖s of ECDSA P-256/SHA-256 over `courtroom:<purpose>:<signed_hash>`"
        }
    )
    stroke_sha256: str = field(metadata={"doc": "an uploaded stroke image's hash"})


@dataclass(frozen=True)
class RefuseToSign(Command):
    """Refuse to sign the oath or the record, with a reason (logged)."""

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


@dataclass(frozen=True)
class SendMessage(Command):
    """A chat message; every message is an event in the log."""

    NAME = "send_message"
    PERMISSION = Permission.CHAT
    to: str = field(
        metadata={
            "doc": "`hearing` (all in the hearing), `bench` (judge and clerk) or "
            "`participant:<id>` (only between the clerk and a waiting witness)"
        }
    )
    text: str = field(metadata={"doc": "1 to 2,000 characters"})


@dataclass(frozen=True)
class Typing(Command):
    """Someone is writing a chat message to ``to``: shown to the bench for a few seconds.
    Ephemeral: accepted with no event (nothing logged) and forwarded at most once a second
    per connection; a refusal (e.g. muted) is logged like any other."""

    NAME = "typing"
    PERMISSION = Permission.CHAT
    to: str = field(metadata={"doc": "as `send_message`'s `to`"})


@dataclass(frozen=True)
class MuteChat(Targeted):
    """The judge mutes a participant's chat: their messages are refused until unmuted."""

    NAME = "mute_chat"
    PERMISSION = Permission.MUTE_CHAT


@dataclass(frozen=True)
class UnmuteChat(Targeted):
    """The judge lets a muted participant chat again."""

    NAME = "unmute_chat"
    PERMISSION = Permission.MUTE_CHAT


# --- exhibits and screen sharing (rules in exhibits.py) ------------------------------------


@dataclass(frozen=True)
class SubmitExhibit(Command):
    """A party or lawyer submits an exhibit; issued by the server once the upload passed its
    content checks and was stored (REST)."""

    NAME = "submit_exhibit"
    PERMISSION = Permission.SUBMIT_EXHIBIT
    sha256: str
    media_type: str  # as found by content: application/pdf, image/png, image/jpeg
    pages: int
    size: int
    filename: str
    side: str  # plaintiff | defendant: whose evidence (a lawyer says which side)


@dataclass(frozen=True)
class PresentExhibit(Command):
    """Show an exhibit to everyone in the hearing at ``page``, or turn the page of the one
    shown: the judge, or a participant the judge allowed to present exhibits."""

    NAME = "present_exhibit"
    PERMISSION = Permission.PRESENT
    exhibit_id: str
    page: int = field(default=1, metadata={"doc": "1-based page number"})


@dataclass(frozen=True)
class StopPresenting(Command):
    """Stop showing the exhibit on screen (its presenter, or the judge)."""

    NAME = "stop_presenting"
    PERMISSION = Permission.PRESENT


@dataclass(frozen=True)
class AllowPresenting(Targeted):
    """The judge allows (or no longer allows) a participant to present exhibits or to share
    a screen."""

    NAME = "allow_presenting"
    PERMISSION = Permission.ALLOW_PRESENTING
    what: str = field(metadata={"doc": "`exhibits` or `screen`"})
    allowed: bool


@dataclass(frozen=True)
class NumberExhibit(Command):
    """The clerk (or the judge) gives an exhibit its court number, e.g. 原告证据3; the court's
    number from submission (by side, in order) stands until then. The old label is logged."""

    NAME = "number_exhibit"
    PERMISSION = Permission.NUMBER_EXHIBIT
    exhibit_id: str
    label: str = field(metadata={"doc": "1 to 40 printable characters, unique in the hearing"})


@dataclass(frozen=True)
class ShareScreen(Command):
    """Start or stop sharing a screen: its track (kind `screen`) is routed while sharing."""

    NAME = "share_screen"
    PERMISSION = Permission.PRESENT
    sharing: bool
# --- the public broadcast (domain/broadcast.py) ---------------------------------------------


@dataclass(frozen=True)
class AnnounceBroadcast(Command):
    """The judge lists (or unlists) the hearing among the public broadcasts to come."""

    NAME = "announce_broadcast"
    PERMISSION = Permission.BROADCAST
    listed: bool


@dataclass(frozen=True)
class StartBroadcast(Command):
    """The judge opens the hearing to the public: a delayed, composed livestream."""

    NAME = "start_broadcast"
    PERMISSION = Permission.BROADCAST


@dataclass(frozen=True)
class PauseBroadcast(Command):
    """The public sees a card instead; nothing from now on (nor still in the delay) is sent."""

    NAME = "pause_broadcast"
    PERMISSION = Permission.BROADCAST


@dataclass(frozen=True)
class ResumeBroadcast(Command):
    NAME = "resume_broadcast"
    PERMISSION = Permission.BROADCAST


@dataclass(frozen=True)
class StopBroadcast(Command):
    NAME = "stop_broadcast"
    PERMISSION = Permission.BROADCAST


@dataclass(frozen=True)
class ExcludeFromBroadcast(Targeted):
    """Keep a participant (e.g. a minor) out of the public broadcast, picture and voice."""

    NAME = "exclude_from_broadcast"
    PERMISSION = Permission.BROADCAST


@dataclass(frozen=True)
class IncludeInBroadcast(Targeted):
    NAME = "include_in_broadcast"
    PERMISSION = Permission.BROADCAST


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
        SendMessage,
        Typing,
        MuteChat,
        UnmuteChat,
        SubmitExhibit,
        PresentExhibit,
        StopPresenting,
        AllowPresenting,
        NumberExhibit,
        ShareScreen,
        AnnounceBroadcast,
        StartBroadcast,
        PauseBroadcast,
        ResumeBroadcast,
        StopBroadcast,
        ExcludeFromBroadcast,
        IncludeInBroadcast,
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
    SubmitExhibit.NAME,  # REST upload: the server checks and stores the file first
}
