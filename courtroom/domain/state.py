"""The state of a hearing and how each event changes it: ``evolve`` and ``replay``.

``HearingState`` is what a hearing's log folds to: its schedule, phase, participants (presence,
media, identity, signing), transcript, discipline flags and media gaps. ``evolve(state, event)``
folds one event in; ``replay`` folds a whole log. The rules that decide which events a
command causes live in ``hearing.py``. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from . import events as e
from .broadcast import BroadcastState
from .broadcast import fold as fold_broadcast
from .exhibits import EVENTS as PRESENTING_EVENTS
from .exhibits import Presenting
from .phases import OPEN_PHASES, Phase
from .presence import Presence
from .roles import Role
from .routing import MediaKind
from .transcript import AudioGap, TranscriptLine


@dataclass(frozen=True)
class Actor:
    """Who issued a command: a participant of the hearing, or the court registry."""

    id: str
    role: Role


REGISTRY = Actor("registry", Role.REGISTRY)

# The chat rate limit: at most CHAT_BURST messages from one participant in CHAT_WINDOW_S.
CHAT_BURST = 5
CHAT_WINDOW_S = 5.0


Identity = Literal["unchecked", "matched", "mismatched", "overridden"]


@dataclass(frozen=True)
class ParticipantState:
    participant_id: str
    role: Role
    display_name: str
    presence: Presence = Presence.INVITED
    connected: bool = False
    cut: frozenset[MediaKind] = frozenset()
    self_muted: frozenset[MediaKind] = frozenset()
    id_photo: str | None = None  # sha256 of the registered ID photo
    identity: Identity = "unchecked"
    identity_reason: str = ""
    signing_key: str | None = None  # JWK text
    signed: frozenset[str] = frozenset()  # purposes: "oath", "record"
    refused: frozenset[str] = frozenset()
    chat_muted: bool = False  # the judge muted this participant's chat
    chat_sent: tuple[str, ...] = ()  # ISO times of their latest chat messages (rate limit)

    def silenced(self, kind: MediaKind) -> bool:
        return kind in self.cut or kind in self.self_muted

    @property
    def identity_ok(self) -> bool:
        """No ID photo to check against, or the last check matched, or the judge overrode it."""
        return self.id_photo is None or self.identity in ("matched", "overridden")


@dataclass(frozen=True)
class FlagState:
    flag_id: str
    participant: str
    kind: str
    t0: float
    confidence: float
    evidence_sha256: str
    evidence_t: float
    t1: float | None = None
    disposition: str | None = None  # "confirmed" / "dismissed" after review
    note: str = ""


@dataclass(frozen=True)
class HearingState:
    hearing_id: str
    scheduled: bool = False
    case_number: str = ""
    title: str = ""
    court: str = ""
    language: str = ""
    scheduled_for: str = ""
    phase: Phase = Phase.SCHEDULED
    phase_before_close: Phase | None = None
    phase_control_delegated: bool = False
    participants: Mapping[str, ParticipantState] = field(default_factory=dict)
    transcript: tuple[TranscriptLine, ...] = ()
    audio_gaps: tuple[AudioGap, ...] = ()  # media_gap events on audio, marked in the transcript
    flags: Mapping[str, FlagState] = field(default_factory=dict)
    sealed_sha256: str | None = None
    presenting: Presenting = field(default_factory=Presenting)  # exhibits and screen sharing
    broadcast: BroadcastState = field(default_factory=BroadcastState)

    @property
    def transcript_open(self) -> bool:
        """Lines are taken and corrected until the judge closes; then the transcript is frozen."""
        return self.phase in OPEN_PHASES or self.phase is Phase.SCHEDULED

    def participant(self, participant_id: str) -> ParticipantState | None:
        return self.participants.get(participant_id)


def evolve(state: HearingState, event: e.Event) -> HearingState:
    """Fold one event into the state. Events that carry no state (refusals) change nothing."""
    if isinstance(event, PRESENTING_EVENTS):
        return replace(state, presenting=state.presenting.fold(event))
    match event:
        case e.HearingScheduled():
            return replace(
                state,
                scheduled=True,
                case_number=event.case_number,
                title=event.title,
                court=event.court,
                language=event.language,
                scheduled_for=event.scheduled_for,
            )
        case e.ParticipantInvited():
            p = ParticipantState(event.participant, event.role, event.display_name)
            return _with(state, p)
        case e.ParticipantConnected():
            return _update(state, event.participant, connected=True)
        case e.ParticipantDisconnected():
            return _update(state, event.participant, connected=False)
        case e.PresenceChanged():
            return _update(state, event.participant, presence=event.presence)
        case e.PhaseChanged():
            before = state.phase if event.phase is Phase.CLOSED else state.phase_before_close
            state = replace(state, phase=event.phase, phase_before_close=before)
            if event.previous is Phase.CLOSED and event.phase in OPEN_PHASES:
                # Reopened: the next close freezes a new record, to be answered afresh.
                people = {
                    pid: replace(p, signed=p.signed - {"record"}, refused=p.refused - {"record"})
                    for pid, p in state.participants.items()
                }
                state = replace(state, participants=people)
            return state
        case e.PhaseControlDelegated():
            return replace(state, phase_control_delegated=event.delegated)
        case e.MediaCut():
            p = state.participants[event.participant]
            return _update(state, event.participant, cut=p.cut | {event.kind})
        case e.MediaRestored():
            p = state.participants[event.participant]
            return _update(state, event.participant, cut=p.cut - {event.kind})
        case e.SelfMuteChanged():
            p = state.participants[event.participant]
            muted = p.self_muted | {event.kind} if event.muted else p.self_muted - {event.kind}
            return _update(state, event.participant, self_muted=muted)
        case e.MediaGap():
            if event.kind is not MediaKind.AUDIO:
                return state
            gap = AudioGap(event.participant, event.t0, event.t1)
            return replace(state, audio_gaps=(*state.audio_gaps, gap))
        case e.TranscriptLineRecorded():
            line = TranscriptLine(
                event.line_id,
                event.speaker,
                event.t0,
                event.t1,
                event.text,
                event.text,
                event.model,
            )
            return replace(state, transcript=(*state.transcript, line))
        case e.TranscriptLineCorrected():
            lines = tuple(
                replace(x, text=event.text, earlier=(*x.earlier, x.text))
                if x.line_id == event.line_id
                else x
                for x in state.transcript
            )
            return replace(state, transcript=lines)
        case e.IdPhotoRegistered():
            return _update(state, event.participant, id_photo=event.sha256, identity="unchecked")
        case e.IdentityChecked():
            verdict = "matched" if event.matched else "mismatched"
            return _update(state, event.participant, identity=verdict, identity_reason=event.reason)
        case e.IdentityOverridden():
            return _update(state, event.participant, identity="overridden")
        case e.SigningKeyRegistered():
            return _update(state, event.participant, signing_key=event.public_key)
        case e.DocumentSigned():
            p = state.participants[event.participant]
            return _update(state, event.participant, signed=p.signed | {event.purpose})
        case e.SigningRefused():
            p = state.participants[event.participant]
            return _update(state, event.participant, refused=p.refused | {event.purpose})
        case e.ChatMessage():
            p = state.participants[event.sender]
            sent = (*p.chat_sent, event.sent_at)[-CHAT_BURST:]
            return _update(state, event.sender, chat_sent=sent)
        case e.ChatMuteChanged():
            return _update(state, event.participant, chat_muted=event.muted)
        case e.RecordSealed():
            return replace(state, sealed_sha256=event.sealed_sha256)
        case e.FlagRaised():
            flag = FlagState(
                event.flag_id,
                event.participant,
                event.kind,
                event.t0,
                event.confidence,
                event.evidence_sha256,
                event.evidence_t,
            )
            return replace(state, flags={**state.flags, flag.flag_id: flag})
        case e.FlagClosed():
            flag = replace(state.flags[event.flag_id], t1=event.t1)
            return replace(state, flags={**state.flags, flag.flag_id: flag})
        case (
            e.BroadcastAnnounced()
            | e.BroadcastStarted()
            | e.BroadcastPaused()
            | e.BroadcastResumed()
            | e.BroadcastStopped()
            | e.BroadcastExclusionChanged()
        ):
            return replace(state, broadcast=fold_broadcast(state.broadcast, event))
        case e.FlagReviewed():
            flag = replace(
                state.flags[event.flag_id], disposition=event.disposition, note=event.note
            )
            return replace(state, flags={**state.flags, flag.flag_id: flag})
    return state


def _with(state: HearingState, p: ParticipantState) -> HearingState:
    return replace(state, participants={**state.participants, p.participant_id: p})


def _update(state: HearingState, participant_id: str, **changes: object) -> HearingState:
    return _with(state, replace(state.participants[participant_id], **changes))  # type: ignore[arg-type]


def replay(hearing_id: str, events: Iterable[e.Event]) -> HearingState:
    """The state of a hearing after all of ``events``."""
    state = HearingState(hearing_id)
    for event in events:
        state = evolve(state, event)
    return state
