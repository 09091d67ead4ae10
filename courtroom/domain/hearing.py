"""The hearing's rules: ``decide`` answers a command with the events it causes.

``decide(state, command, actor, now)`` answers a command with the events it causes, or
with ``Rejected``. ``evolve(state, event)`` folds one event into the state and ``replay``
folds a log (both in ``state.py``, re-exported here). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from . import commands as c
from . import events as e
from .broadcast import HANDLERS as BROADCAST_HANDLERS
from .errors import Refusal, Rejected
from .exhibits import HANDLERS as PRESENTING_HANDLERS
from .phases import OPEN_PHASES, PHASE_MOVES, Phase
from .presence import MAY_CONNECT, Presence, Reason
from .roles import STAFF, Permission, Role, may
from .state import (
    CHAT_BURST,
    CHAT_WINDOW_S,
    REGISTRY,
    Actor,
    FlagState,
    HearingState,
    Identity,
    ParticipantState,
    evolve,
    replay,
)
from .transcript import MAX_LINE_CHARS

PURPOSES = frozenset({"oath", "record"})
DISPOSITIONS = frozenset({"confirmed", "dismissed"})
_MAX_TEXT = 2000

Decision = list[e.Event] | Rejected

_ACTIVE = frozenset({Presence.LOBBY, Presence.WAITING_ROOM, Presence.IN_HEARING})
# Phases in which who is where may still change. After sealing, the hearing is history.
_LIVE: frozenset[Phase] = frozenset(Phase) - {Phase.SEALED}
_EDITABLE: frozenset[Phase] = OPEN_PHASES | {Phase.SCHEDULED}


def decide(state: HearingState, command: c.Command, actor: Actor, now: datetime) -> Decision:
    """The court's answer to ``command`` from ``actor`` at ``now``."""
    if isinstance(command, c.ScheduleHearing):
        return _schedule(state, command, actor, now)
    if not state.scheduled:
        return Rejected(Refusal.NOT_SCHEDULED, "no such hearing has been scheduled")
    role = _role_of(state, actor)
    if role is None:
        return Rejected(Refusal.UNKNOWN_PARTICIPANT, "you are not a participant of this hearing")
    if not may(role, command.PERMISSION, delegated=state.phase_control_delegated):
        return Rejected(
            Refusal.FORBIDDEN, f"a {role.value} may not {command.NAME.replace('_', ' ')}"
        )
    if isinstance(command, c.SendMessage):
        return _send_message(state, command, actor, now)
    handler = _HANDLERS.get(type(command))
    if handler is None:
        return Rejected(Refusal.INVALID, f"unsupported command {command.NAME}")
    return handler(state, command, actor)


def _role_of(state: HearingState, actor: Actor) -> Role | None:
    if actor.role in (Role.REGISTRY, Role.INSPECTOR):
        return actor.role  # court roles that act through the REST API, not as participants
    p = state.participant(actor.id)
    # The role comes from the hearing's own record, never from what the client claims.
    return p.role if p is not None and p.role is actor.role else None


def _schedule(state: HearingState, cmd: c.ScheduleHearing, actor: Actor, now: datetime) -> Decision:
    if actor.role is not Role.REGISTRY:
        return Rejected(Refusal.FORBIDDEN, "only the court registry schedules hearings")
    if state.scheduled:
        return Rejected(Refusal.ALREADY_EXISTS, "this hearing is already scheduled")
    missing = [n for n in ("case_number", "court", "language") if not getattr(cmd, n).strip()]
    if missing:
        return Rejected(Refusal.INVALID, f"missing {', '.join(missing)}")
    try:
        when = datetime.fromisoformat(cmd.scheduled_for)
    except ValueError:
        return Rejected(Refusal.INVALID, "scheduled_for must be an ISO 8601 date-time")
    if when.tzinfo is None:
        return Rejected(Refusal.INVALID, "scheduled_for must carry a time zone")
    del now  # a hearing may be entered after the fact, e.g. a rescheduled sitting
    return [
        e.HearingScheduled(cmd.case_number, cmd.title, cmd.court, cmd.language, cmd.scheduled_for)
    ]


def _target(state: HearingState, participant_id: str) -> ParticipantState | Rejected:
    p = state.participant(participant_id)
    if p is None:
        return Rejected(Refusal.UNKNOWN_PARTICIPANT, "no such participant in this hearing")
    return p


def _in_phase(state: HearingState, allowed: Iterable[Phase], what: str) -> Rejected | None:
    if state.phase in allowed:
        return None
    return Rejected(Refusal.WRONG_PHASE, f"cannot {what} while the hearing is {state.phase.value}")


def _invite(state: HearingState, cmd: c.InviteParticipant, actor: Actor) -> Decision:
    if (err := _in_phase(state, {Phase.SCHEDULED, *OPEN_PHASES}, "invite")) is not None:
        return err
    if cmd.participant in state.participants:
        return Rejected(Refusal.ALREADY_EXISTS, "that participant is already invited")
    if cmd.role in (Role.REGISTRY, Role.INSPECTOR):
        return Rejected(Refusal.INVALID, f"a {cmd.role.value} is not a hearing participant")
    if not cmd.participant.strip() or not cmd.display_name.strip():
        return Rejected(Refusal.INVALID, "participant id and display name are required")
    if cmd.role is Role.JUDGE and any(p.role is Role.JUDGE for p in state.participants.values()):
        return Rejected(Refusal.ALREADY_EXISTS, "this hearing already has a presiding judge")
    return [e.ParticipantInvited(cmd.participant, cmd.role, cmd.display_name)]


def _connect(state: HearingState, cmd: c.Connect, actor: Actor) -> Decision:
    me = state.participants[actor.id]
    # A sealed hearing may still be visited (to read or download the record); it has no
    # media routes, and nothing it decides can change the sealed record.
    if me.presence is Presence.DISMISSED:
        return Rejected(
            Refusal.DISMISSED, "you were dismissed; only a new call from the judge lets you back"
        )
    if me.presence is Presence.REMOVED:
        return Rejected(Refusal.REMOVED, "you were removed from this hearing")
    assert me.presence in MAY_CONNECT
    out: list[e.Event] = [e.ParticipantConnected(me.participant_id)]
    # Admission is re-checked here on every connection: the stored presence decides, so a
    # reconnect lands exactly where the court last put this participant.
    if me.presence in (Presence.INVITED, Presence.LEFT):
        where = Presence.IN_HEARING if me.role in STAFF else Presence.LOBBY
        out.append(e.PresenceChanged(me.participant_id, where, Reason.JOINED))
    return out


def _disconnect(state: HearingState, cmd: c.Disconnect, actor: Actor) -> Decision:
    if not state.participants[actor.id].connected:
        return []
    return [e.ParticipantDisconnected(actor.id)]


def _leave(state: HearingState, cmd: c.Leave, actor: Actor) -> Decision:
    if (err := _in_phase(state, _LIVE, "leave")) is not None:
        return err
    me = state.participants[actor.id]
    if me.presence not in _ACTIVE:
        return Rejected(Refusal.WRONG_PRESENCE, f"you are {me.presence.value}")
    out: list[e.Event] = [e.PresenceChanged(actor.id, Presence.LEFT, Reason.LEFT)]
    if me.connected:
        out.append(e.ParticipantDisconnected(actor.id))
    return out


def _self_mute(state: HearingState, cmd: c.SetSelfMute, actor: Actor) -> Decision:
    if (err := _in_phase(state, _LIVE, "change your microphone or camera")) is not None:
        return err
    me = state.participants[actor.id]
    if (cmd.kind in me.self_muted) == cmd.muted:
        return []
    return [e.SelfMuteChanged(actor.id, cmd.kind, cmd.muted)]


def _open(state: HearingState, cmd: c.OpenHearing, actor: Actor) -> Decision:
    if state.phase is not Phase.SCHEDULED:
        return Rejected(Refusal.INVALID_TRANSITION, f"the hearing is already {state.phase.value}")
    return [e.PhaseChanged(Phase.OPENING, state.phase, "opened")]


def _change_phase(state: HearingState, cmd: c.ChangePhase, actor: Actor) -> Decision:
    allowed = PHASE_MOVES.get(state.phase, frozenset())
    if cmd.to not in allowed:
        return Rejected(
            Refusal.INVALID_TRANSITION,
            f"cannot move from {state.phase.value} to {cmd.to.value}",
        )
    return [e.PhaseChanged(cmd.to, state.phase)]


def _close(state: HearingState, cmd: c.CloseHearing, actor: Actor) -> Decision:
    if state.phase not in OPEN_PHASES:
        return Rejected(
            Refusal.INVALID_TRANSITION, f"cannot close a hearing that is {state.phase.value}"
        )
    return [e.PhaseChanged(Phase.CLOSED, state.phase, "closed")]


def _reopen(state: HearingState, cmd: c.ReopenHearing, actor: Actor) -> Decision:
    if state.phase is not Phase.CLOSED or state.phase_before_close is None:
        return Rejected(
            Refusal.INVALID_TRANSITION, f"cannot reopen a hearing that is {state.phase.value}"
        )
    if not cmd.reason.strip():
        return Rejected(Refusal.INVALID, "reopening needs a reason for the record")
    return [e.PhaseChanged(state.phase_before_close, state.phase, f"reopened: {cmd.reason}")]


def _delegate(state: HearingState, cmd: c.DelegatePhaseControl, actor: Actor) -> Decision:
    if (err := _in_phase(state, {Phase.SCHEDULED, *OPEN_PHASES}, "delegate")) is not None:
        return err
    if state.phase_control_delegated == cmd.delegated:
        return []
    return [e.PhaseControlDelegated(cmd.delegated)]


def _move(
    want_from: frozenset[Presence],
    to: Presence,
    reason: Reason,
    phases: frozenset[Phase],
) -> Callable[[HearingState, c.Targeted, Actor], Decision]:
    """A judge/clerk command that moves another participant from one presence to another."""

    def handle(state: HearingState, cmd: c.Targeted, actor: Actor) -> Decision:
        if (err := _in_phase(state, phases, cmd.NAME.replace("_", " "))) is not None:
            return err
        target = _target(state, cmd.participant)
        if isinstance(target, Rejected):
            return target
        if target.participant_id == actor.id:
            return Rejected(Refusal.INVALID, "you cannot do that to yourself")
        if target.role is Role.JUDGE:
            return Rejected(Refusal.FORBIDDEN, "the presiding judge cannot be moved")
        if isinstance(cmd, c.Admit | c.CallIn) and target.role is Role.KIOSK_SUPERVISOR:
            # They attend the terminal, not the hearing: nothing of the hearing reaches them.
            return Rejected(Refusal.INVALID, "a kiosk supervisor is not admitted to the hearing")
        if target.presence not in want_from:
            return Rejected(
                Refusal.WRONG_PRESENCE,
                f"that participant is {target.presence.value.replace('_', ' ')}",
            )
        witness_called = isinstance(cmd, c.CallIn) and target.role is Role.WITNESS
        if (isinstance(cmd, c.Admit) or witness_called) and not target.identity_ok:
            why = target.identity_reason or "not yet checked against the ID photo"
            return Rejected(
                Refusal.IDENTITY_UNCONFIRMED,
                f"identity not confirmed: {why}; the judge may override",
            )
        destination = to
        if (
            isinstance(cmd, c.Admit)
            and target.role is not Role.WITNESS
            and state.phase in OPEN_PHASES
        ):
            destination = Presence.IN_HEARING  # parties go straight in; witnesses wait to be called
        return [e.PresenceChanged(target.participant_id, destination, reason)]

    return handle


def _cut(state: HearingState, cmd: c.CutMedia, actor: Actor) -> Decision:
    if (err := _in_phase(state, _LIVE, "cut media")) is not None:
        return err
    target = _target(state, cmd.participant)
    if isinstance(target, Rejected):
        return target
    if cmd.kind in target.cut:
        return []
    return [e.MediaCut(target.participant_id, cmd.kind)]


def _restore(state: HearingState, cmd: c.RestoreMedia, actor: Actor) -> Decision:
    if (err := _in_phase(state, _LIVE, "restore media")) is not None:
        return err
    target = _target(state, cmd.participant)
    if isinstance(target, Rejected):
        return target
    if cmd.kind not in target.cut:
        return []
    return [e.MediaRestored(target.participant_id, cmd.kind)]


def _correct(state: HearingState, cmd: c.CorrectLine, actor: Actor) -> Decision:
    if (err := _in_phase(state, _EDITABLE, "correct the transcript")) is not None:
        return err
    line = next((x for x in state.transcript if x.line_id == cmd.line_id), None)
    if line is None:
        return Rejected(Refusal.INVALID, "no such transcript line")
    text = cmd.text.strip()
    if not text or len(text) > MAX_LINE_CHARS:
        return Rejected(Refusal.INVALID, f"a line must have 1 to {MAX_LINE_CHARS} characters")
    if text == line.text:
        return []
    return [e.TranscriptLineCorrected(line.line_id, text)]


def _register_photo(state: HearingState, cmd: c.RegisterIdPhoto, actor: Actor) -> Decision:
    if (err := _in_phase(state, _LIVE, "register an ID photo")) is not None:
        return err
    target = _target(state, cmd.participant)
    if isinstance(target, Rejected):
        return target
    if len(cmd.sha256) != 64:
        return Rejected(Refusal.INVALID, "sha256 must be 64 hex digits")
    return [e.IdPhotoRegistered(target.participant_id, cmd.sha256)]


def _override_identity(state: HearingState, cmd: c.OverrideIdentity, actor: Actor) -> Decision:
    if (err := _in_phase(state, _LIVE, "override an identity check")) is not None:
        return err
    target = _target(state, cmd.participant)
    if isinstance(target, Rejected):
        return target
    if target.identity_ok:
        return Rejected(Refusal.INVALID, "that participant's identity is not in doubt")
    if not cmd.reason.strip() or len(cmd.reason) > _MAX_TEXT:
        return Rejected(Refusal.INVALID, "an override needs a reason for the record")
    return [e.IdentityOverridden(target.participant_id, cmd.reason.strip())]


def _register_key(state: HearingState, cmd: c.RegisterSigningKey, actor: Actor) -> Decision:
    if (err := _in_phase(state, _LIVE, "register a signing key")) is not None:
        return err
    me = state.participants[actor.id]
    if not me.identity_ok:
        return Rejected(Refusal.IDENTITY_UNCONFIRMED, "your identity must be confirmed first")
    if me.signing_key is not None:
        return Rejected(Refusal.ALREADY_EXISTS, "a signing key is already registered for you")
    if not cmd.public_key.strip() or len(cmd.public_key) > _MAX_TEXT:
        return Rejected(Refusal.INVALID, "public_key must be a JWK")
    return [e.SigningKeyRegistered(actor.id, cmd.public_key)]


def _sign_phase(state: HearingState, purpose: str) -> Rejected | None:
    if purpose not in PURPOSES:
        return Rejected(Refusal.INVALID, "purpose must be oath or record")
    # The oath is sworn before testimony; the record is signed once the transcript is frozen.
    phases = _EDITABLE if purpose == "oath" else frozenset({Phase.CLOSED})
    return _in_phase(state, phases, f"sign the {purpose}")


def _sign(state: HearingState, cmd: c.SignDocument, actor: Actor) -> Decision:
    if (err := _sign_phase(state, cmd.purpose)) is not None:
        return err
    me = state.participants[actor.id]
    if me.signing_key is None:
        return Rejected(Refusal.NO_SIGNING_KEY, "register your signing key first")
    if cmd.purpose in me.signed | me.refused:
        return Rejected(Refusal.ALREADY_EXISTS, f"you have already answered the {cmd.purpose}")
    sig = e.DocumentSigned(actor.id, cmd.purpose, cmd.signed_hash, cmd.signature, cmd.stroke_sha256)
    return [sig]


def _refuse(state: HearingState, cmd: c.RefuseToSign, actor: Actor) -> Decision:
    if (err := _sign_phase(state, cmd.purpose)) is not None:
        return err
    me = state.participants[actor.id]
    if cmd.purpose in me.signed | me.refused:
        return Rejected(Refusal.ALREADY_EXISTS, f"you have already answered the {cmd.purpose}")
    if not cmd.reason.strip() or len(cmd.reason) > _MAX_TEXT:
        return Rejected(Refusal.INVALID, "a refusal needs a reason for the record")
    return [e.SigningRefused(actor.id, cmd.purpose, cmd.reason.strip())]


def _seal(state: HearingState, cmd: c.SealRecord, actor: Actor) -> Decision:
    if state.phase is not Phase.CLOSED:
        return Rejected(Refusal.WRONG_PHASE, f"cannot seal a hearing that is {state.phase.value}")
    return [
        e.RecordSealed(cmd.document_hash, cmd.sealed_sha256),
        e.PhaseChanged(Phase.SEALED, Phase.CLOSED, "sealed"),
    ]


def _review(state: HearingState, cmd: c.ReviewFlag, actor: Actor) -> Decision:
    flag = state.flags.get(cmd.flag_id)
    if flag is None:
        return Rejected(Refusal.INVALID, "no such flag")
    if cmd.disposition not in DISPOSITIONS:
        return Rejected(Refusal.INVALID, "disposition must be confirmed or dismissed")
    if len(cmd.note) > _MAX_TEXT:
        return Rejected(Refusal.INVALID, f"a note has at most {_MAX_TEXT} characters")
    return [e.FlagReviewed(cmd.flag_id, cmd.disposition, cmd.note.strip())]


def _send_message(state: HearingState, cmd: c.SendMessage, actor: Actor, now: datetime) -> Decision:
    if (err := _in_phase(state, _EDITABLE, "chat")) is not None:
        return err
    me = state.participants[actor.id]
    if me.chat_muted:
        return Rejected(Refusal.CHAT_MUTED, "the judge has muted your chat")
    text = cmd.text.strip()
    if not text or len(text) > _MAX_TEXT:
        return Rejected(Refusal.INVALID, f"a message must have 1 to {_MAX_TEXT} characters")
    if (err := _chat_route(state, me, cmd.to)) is not None:
        return err
    since = now - timedelta(seconds=CHAT_WINDOW_S)
    recent = [t for t in me.chat_sent if datetime.fromisoformat(t) > since]
    if len(recent) >= CHAT_BURST:
        return Rejected(
            Refusal.CHAT_RATE_LIMITED,
            f"at most {CHAT_BURST} messages in {CHAT_WINDOW_S:g} s; wait a moment",
        )
    return [e.ChatMessage(actor.id, cmd.to, text, now.isoformat())]


def _typing(state: HearingState, cmd: c.Typing, actor: Actor) -> Decision:
    """Allowed where a message to ``cmd.to`` would be; no event: typing is not recorded."""
    if (err := _in_phase(state, _EDITABLE, "chat")) is not None:
        return err
    me = state.participants[actor.id]
    if me.chat_muted:
        return Rejected(Refusal.CHAT_MUTED, "the judge has muted your chat")
    return _chat_route(state, me, cmd.to) or []


def _chat_route(state: HearingState, me: ParticipantState, to: str) -> Rejected | None:
    """Whether ``me`` may write to ``to``: the hearing and the bench from inside the hearing,
    a participant only between the clerk and a witness in the waiting room."""
    if to in ("hearing", "bench"):
        if me.presence is not Presence.IN_HEARING:
            return Rejected(Refusal.WRONG_PRESENCE, f"only those in the hearing write to the {to}")
        return None
    prefix, _, target_id = to.partition(":")
    if prefix != "participant" or not target_id:
        return Rejected(Refusal.INVALID, "to must be hearing, bench or participant:<id>")
    target = state.participant(target_id)
    if target is None:
        return Rejected(Refusal.UNKNOWN_PARTICIPANT, "no such participant in this hearing")
    pair = {me.role, target.role}
    witness = target if target.role is Role.WITNESS else me
    if pair != {Role.CLERK, Role.WITNESS} or witness.presence is not Presence.WAITING_ROOM:
        return Rejected(
            Refusal.FORBIDDEN, "private messages are only between the clerk and a waiting witness"
        )
    return None


def _set_chat_mute(muted: bool) -> Callable[[HearingState, c.Targeted, Actor], Decision]:
    def handle(state: HearingState, cmd: c.Targeted, actor: Actor) -> Decision:
        if (err := _in_phase(state, _LIVE, cmd.NAME.replace("_", " "))) is not None:
            return err
        target = _target(state, cmd.participant)
        if isinstance(target, Rejected):
            return target
        if target.participant_id == actor.id:
            return Rejected(Refusal.INVALID, "you cannot mute your own chat")
        if target.chat_muted == muted:
            return []
        return [e.ChatMuteChanged(target.participant_id, muted)]

    return handle


# Each handler takes its own command type; the dict pairs them, so its value type is loose.
_HANDLERS: dict[type[c.Command], Callable[[HearingState, Any, Actor], Decision]] = {
    c.InviteParticipant: _invite,
    c.Connect: _connect,
    c.Disconnect: _disconnect,
    c.Leave: _leave,
    c.SetSelfMute: _self_mute,
    c.OpenHearing: _open,
    c.ChangePhase: _change_phase,
    c.CloseHearing: _close,
    c.ReopenHearing: _reopen,
    c.DelegatePhaseControl: _delegate,
    c.Admit: _move(
        frozenset({Presence.LOBBY}),
        Presence.WAITING_ROOM,
        Reason.ADMITTED,
        frozenset({Phase.SCHEDULED, *OPEN_PHASES}),
    ),
    c.CallIn: _move(
        frozenset({Presence.WAITING_ROOM}), Presence.IN_HEARING, Reason.CALLED_IN, OPEN_PHASES
    ),
    c.SendBack: _move(
        frozenset({Presence.IN_HEARING}), Presence.WAITING_ROOM, Reason.SENT_BACK, _LIVE
    ),
    c.Dismiss: _move(_ACTIVE, Presence.DISMISSED, Reason.DISMISSED, _LIVE),
    c.Recall: _move(frozenset({Presence.DISMISSED}), Presence.INVITED, Reason.RECALLED, _LIVE),
    c.Remove: _move(
        _ACTIVE | {Presence.INVITED, Presence.LEFT}, Presence.REMOVED, Reason.REMOVED, _LIVE
    ),
    c.CutMedia: _cut,
    c.RestoreMedia: _restore,
    c.CorrectLine: _correct,
    c.RegisterIdPhoto: _register_photo,
    c.OverrideIdentity: _override_identity,
    c.RegisterSigningKey: _register_key,
    c.SignDocument: _sign,
    c.RefuseToSign: _refuse,
    c.SealRecord: _seal,
    c.ReviewFlag: _review,
    c.Typing: _typing,
    c.MuteChat: _set_chat_mute(True),
    c.UnmuteChat: _set_chat_mute(False),
    **PRESENTING_HANDLERS,  # exhibits and screen sharing (exhibits.py)
    **BROADCAST_HANDLERS,
}


__all__ = [
    "REGISTRY",
    "Actor",
    "Decision",
    "FlagState",
    "HearingState",
    "Identity",
    "ParticipantState",
    "Permission",
    "decide",
    "evolve",
    "replay",
]
