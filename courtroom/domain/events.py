"""What happened in a hearing. The log of these events is the record.

Events here are payloads; the store wraps each in an envelope with the hearing, the
sequence number, the actor, the time and the hash chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .phases import Phase
from .presence import Presence, Reason
from .roles import Role
from .routing import MediaKind
from .transcript import Word


@dataclass(frozen=True)
class Event:
    TYPE: ClassVar[str]


@dataclass(frozen=True)
class HearingScheduled(Event):
    TYPE = "hearing_scheduled"
    case_number: str
    title: str
    court: str
    language: str
    scheduled_for: str


@dataclass(frozen=True)
class ParticipantInvited(Event):
    TYPE = "participant_invited"
    participant: str
    role: Role
    display_name: str


@dataclass(frozen=True)
class ParticipantConnected(Event):
    TYPE = "participant_connected"
    participant: str


@dataclass(frozen=True)
class ParticipantDisconnected(Event):
    TYPE = "participant_disconnected"
    participant: str
    reason: str = ""  # "server restart": written by the recovery of a server that restarted


@dataclass(frozen=True)
class PresenceChanged(Event):
    TYPE = "presence_changed"
    participant: str
    presence: Presence
    reason: Reason


@dataclass(frozen=True)
class PhaseChanged(Event):
    TYPE = "phase_changed"
    phase: Phase
    previous: Phase
    reason: str = ""


@dataclass(frozen=True)
class PhaseControlDelegated(Event):
    TYPE = "phase_control_delegated"
    delegated: bool


@dataclass(frozen=True)
class MediaCut(Event):
    TYPE = "media_cut"
    participant: str
    kind: MediaKind


@dataclass(frozen=True)
class MediaRestored(Event):
    TYPE = "media_restored"
    participant: str
    kind: MediaKind


@dataclass(frozen=True)
class SelfMuteChanged(Event):
    TYPE = "self_mute_changed"
    participant: str
    kind: MediaKind
    muted: bool


@dataclass(frozen=True)
class CommandRejected(Event):
    """A refused command. In a court, an attempt matters: it is kept like any other event."""

    TYPE = "command_rejected"
    command: str
    code: str
    reason: str


@dataclass(frozen=True)
class CommandRejectedSummary(Event):
    """Refusals of one participant's command alike (same command and code) past the first few
    in a window: counted, so that a flood of refused commands cannot grow the log without
    bound. The actor is that participant."""

    TYPE = "command_rejected_summary"
    command: str
    code: str
    count: int
    first_at: str
    last_at: str


@dataclass(frozen=True)
class AccessRefused(Event):
    """A connection or credential the server turned away (bad code, expired or replayed token)."""

    TYPE = "access_refused"
    participant: str
    reason: str
    route: str = ""  # e.g. "GET /api/v1/hearings/{hearing_id}/oath", "ws /ws"
    source: str = ""  # the client's address


@dataclass(frozen=True)
class AccessRefusedSummary(Event):
    """Refusals alike (same participant, route, reason, source) past the first few in a window:
    counted, so that a flood of bad credentials cannot grow the log without bound."""

    TYPE = "access_refused_summary"
    participant: str
    reason: str
    route: str
    source: str
    count: int
    first_at: str
    last_at: str


@dataclass(frozen=True)
class JoinCodeIssued(Event):
    """A one-time join code was issued. The code itself is never logged."""

    TYPE = "join_code_issued"
    participant: str
    expires_at: str


@dataclass(frozen=True)
class TranscriptLineRecorded(Event):
    """A final line from live speech recognition; times are on the hearing's recording clock."""

    TYPE = "transcript_line"
    line_id: str
    speaker: str
    text: str
    t0: float
    t1: float
    words: tuple[Word, ...]
    model: str


@dataclass(frozen=True)
class TranscriptLineCorrected(Event):
    """The clerk's (or judge's) correction. The original stays in the log and in the state."""

    TYPE = "transcript_correction"
    line_id: str
    text: str


@dataclass(frozen=True)
class Span:
    """``[t0, t1]`` on the hearing's recording clock, in seconds."""

    t0: float
    t1: float


@dataclass(frozen=True)
class RecordingFinished(Event):
    """A finished recording file and its hash; times are on the hearing's recording clock."""

    TYPE = "recording_finished"
    participant: str
    kind: MediaKind
    file: str
    sha256: str
    bytes: int
    start: float
    end: float
    gaps: tuple[Span, ...] = ()  # where the file has no media (see MediaGap)


@dataclass(frozen=True)
class MediaGap(Event):
    """A participant's track had no frames from ``t0`` to ``t1`` (recording clock seconds):
    lost packets or a dropped path. The recording has nothing there; on an audio track the
    transcript, its exports and the sealed record mark the gap as a line of its own."""

    TYPE = "media_gap"
    participant: str
    kind: MediaKind
    t0: float
    t1: float


@dataclass(frozen=True)
class HearingMoved(Event):
    """Another node took the hearing over (its node died or was drained): nothing was
    written between ``last_seen`` (the old node's last lease renewal) and this event."""

    TYPE = "hearing_moved"
    from_node: str
    to_node: str
    last_seen: str  # ISO 8601, the old node's last renewal
    gap_s: float


@dataclass(frozen=True)
class NodeStrained(Event):
    """The node serving this hearing fell behind: its event loop, which carries every packet,
    message and caption, lagged ``lag_p99_ms`` at the 99th percentile over ``window_s``. From
    here until ``node_recovered``, video, audio, captions and the discipline watch may lag or
    drop. Logged in every hearing with someone connected to that node; the bench sees it
    (server/strain.py)."""

    TYPE = "node_strained"
    node: str
    lag_p99_ms: float
    window_s: float


@dataclass(frozen=True)
class NodeRecovered(Event):
    """The node is keeping up again; it was strained for ``strained_s``, at worst
    ``worst_lag_p99_ms`` (p99 of its event-loop lag over a window)."""

    TYPE = "node_recovered"
    node: str
    strained_s: float
    worst_lag_p99_ms: float


# --- identity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdPhotoRegistered(Event):
    """The clerk (or a kiosk supervisor) registered an ID photo; the image is kept by hash."""

    TYPE = "id_photo_registered"
    participant: str
    sha256: str


@dataclass(frozen=True)
class IdentityChecked(Event):
    """The live face against the ID photo. ``stage``: entry, testimony or patrol."""

    TYPE = "identity_checked"
    participant: str
    stage: str
    matched: bool
    distance: float | None
    reason: str
    model: str


@dataclass(frozen=True)
class IdentityOverridden(Event):
    TYPE = "identity_overridden"
    participant: str
    reason: str


# --- signatures and the seal -------------------------------------------------------------


@dataclass(frozen=True)
class SigningKeyRegistered(Event):
    """A device-generated ECDSA P-256 public key (JWK text), bound to a checked person."""

    TYPE = "signing_key_registered"
    participant: str
    public_key: str


@dataclass(frozen=True)
class DocumentSigned(Event):
    """A participant's signature, verified by the server. ``purpose``: oath or record."""

    TYPE = "document_signed"
    participant: str
    purpose: str
    signed_hash: str
    signature: str
    stroke_sha256: str


@dataclass(frozen=True)
class SigningRefused(Event):
    TYPE = "signing_refused"
    participant: str
    purpose: str
    reason: str


@dataclass(frozen=True)
class RecordSealed(Event):
    """The court sealed the record: the sealed PDF's hash and the document hash it carries."""

    TYPE = "record_sealed"
    document_hash: str
    sealed_sha256: str


# --- discipline watch ----------------------------------------------------------------------


@dataclass(frozen=True)
class FlagRaised(Event):
    """A debounced discipline flag, with a reference to its evidence snapshot."""

    TYPE = "flag_raised"
    flag_id: str
    participant: str
    kind: str
    t0: float
    confidence: float
    model_versions: dict[str, str]
    evidence_sha256: str
    evidence_t: float


@dataclass(frozen=True)
class FlagClosed(Event):
    TYPE = "flag_closed"
    flag_id: str
    t1: float


@dataclass(frozen=True)
class FlagReviewed(Event):
    """An inspector confirmed or dismissed a flag after reviewing the recording."""

    TYPE = "flag_reviewed"
    flag_id: str
    disposition: str
    note: str


# --- chat ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatMessage(Event):
    """A chat message. `to`: `hearing`, `bench` or `participant:<id>`; `sent_at`: ISO 8601,
    the court's clock when it was decided (the rate limit counts these)."""

    TYPE = "chat_message"
    sender: str
    to: str
    text: str
    sent_at: str


@dataclass(frozen=True)
class ChatMuteChanged(Event):
    """The judge muted (or unmuted) a participant's chat."""

    TYPE = "chat_mute_changed"
    participant: str
    muted: bool


# --- exhibits and screen sharing ------------------------------------------------------------


@dataclass(frozen=True)
class ExhibitSubmitted(Event):
    """An exhibit was stored (content-addressed) and numbered by the court: ``label`` is
    e.g. 原告证据1 (the plaintiff's first) or 被告证据2. ``participant``: who submitted it."""

    TYPE = "exhibit_submitted"
    exhibit_id: str
    label: str
    side: str
    participant: str
    sha256: str
    media_type: str
    pages: int
    size: int
    filename: str


@dataclass(frozen=True)
class ExhibitPresented(Event):
    """An exhibit is shown to everyone in the hearing, at ``page``, by ``presenter``."""

    TYPE = "exhibit_presented"
    exhibit_id: str
    page: int
    presenter: str


@dataclass(frozen=True)
class ExhibitPageTurned(Event):
    """The exhibit on screen now shows ``page``."""

    TYPE = "exhibit_page_turned"
    exhibit_id: str
    page: int


@dataclass(frozen=True)
class ExhibitPresentationEnded(Event):
    TYPE = "exhibit_presentation_ended"
    exhibit_id: str


@dataclass(frozen=True)
class PresentingAllowed(Event):
    """The judge allowed (or stopped allowing) ``participant`` to present ``what``:
    ``exhibits`` or ``screen``."""

    TYPE = "presenting_allowed"
    participant: str
    what: str
    allowed: bool


@dataclass(frozen=True)
class ExhibitNumbered(Event):
    """The clerk (or the judge) set the court number of ``exhibit_id`` to ``label``; the label
    it had is kept in ``previous``."""

    TYPE = "exhibit_numbered"
    exhibit_id: str
    label: str
    previous: str
    by: str


@dataclass(frozen=True)
class ScreenShareChanged(Event):
    """``participant`` started or stopped sharing a screen (its own track, kind ``screen``)."""

    TYPE = "screen_share_changed"
    participant: str
    sharing: bool
# --- the public broadcast (domain/broadcast.py) ---------------------------------------------


@dataclass(frozen=True)
class BroadcastAnnounced(Event):
    """Listed (or no longer listed) among the public broadcasts to come."""

    TYPE = "broadcast_announced"
    listed: bool


@dataclass(frozen=True)
class BroadcastStarted(Event):
    """A public broadcast began; ``number`` counts the broadcasts of this hearing from 1."""

    TYPE = "broadcast_started"
    number: int


@dataclass(frozen=True)
class BroadcastPaused(Event):
    TYPE = "broadcast_paused"
    number: int


@dataclass(frozen=True)
class BroadcastResumed(Event):
    TYPE = "broadcast_resumed"
    number: int


@dataclass(frozen=True)
class BroadcastStopped(Event):
    TYPE = "broadcast_stopped"
    number: int


@dataclass(frozen=True)
class BroadcastExclusionChanged(Event):
    """The judge kept a participant out of the public broadcast (or let them back in)."""

    TYPE = "broadcast_exclusion_changed"
    participant: str
    excluded: bool


EVENT_TYPES: dict[str, type[Event]] = {
    e.TYPE: e
    for e in (
        HearingScheduled,
        ParticipantInvited,
        ParticipantConnected,
        ParticipantDisconnected,
        PresenceChanged,
        PhaseChanged,
        PhaseControlDelegated,
        MediaCut,
        MediaRestored,
        SelfMuteChanged,
        CommandRejected,
        CommandRejectedSummary,
        AccessRefused,
        AccessRefusedSummary,
        JoinCodeIssued,
        TranscriptLineRecorded,
        TranscriptLineCorrected,
        RecordingFinished,
        MediaGap,
        HearingMoved,
        NodeStrained,
        NodeRecovered,
        IdPhotoRegistered,
        IdentityChecked,
        IdentityOverridden,
        SigningKeyRegistered,
        DocumentSigned,
        SigningRefused,
        RecordSealed,
        FlagRaised,
        FlagClosed,
        FlagReviewed,
        ChatMessage,
        ChatMuteChanged,
        ExhibitSubmitted,
        ExhibitPresented,
        ExhibitPageTurned,
        ExhibitPresentationEnded,
        PresentingAllowed,
        ExhibitNumbered,
        ScreenShareChanged,
        BroadcastAnnounced,
        BroadcastStarted,
        BroadcastPaused,
        BroadcastResumed,
        BroadcastStopped,
        BroadcastExclusionChanged,
    )
}


def register_event(cls: type[Event]) -> type[Event]:
    """Lets later capabilities (transcript, flags, signatures) add event types."""
    if cls.TYPE in EVENT_TYPES and EVENT_TYPES[cls.TYPE] is not cls:
        raise ValueError(f"event type {cls.TYPE!r} registered twice")
    EVENT_TYPES[cls.TYPE] = cls
    return cls
