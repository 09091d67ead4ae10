"""Exhibits (举证质证) and screen sharing: who may bring evidence, who may show it, and who
may see it.

A party or lawyer submits an exhibit (the server checks and stores the file first, then
issues ``submit_exhibit``); the court numbers it by the side that brought it: 原告证据1,
被告证据1, ...; the clerk (or the judge) may give it another number (``number_exhibit``).
During the hearing the judge, or a participant the judge allowed, presents one exhibit at a
time to everyone in the hearing; every page turn is an event. Screen sharing is allowed the
same way and routed by ``media_plan`` (``routing.py``) like any other track.

Isolation covers exhibits as it covers media: a witness never learns of the exhibits, not
even their names, except the one on screen while the witness is called in. ``may_see_event``,
``visible_exhibits`` and ``may_fetch`` say so once, for events, the state view and REST alike.

``Presenting`` is the slice of the hearing state this module folds (``HearingState.presenting``);
nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from . import commands as c
from . import events as e
from .errors import Refusal, Rejected
from .phases import OPEN_PHASES, Phase
from .presence import Presence
from .roles import STAFF, Role

if TYPE_CHECKING:
    from .state import Actor, HearingState, ParticipantState

# Whose evidence: the label's prefix (原告证据1 is the plaintiff's first exhibit).
SIDES: Mapping[str, str] = {"plaintiff": "原告", "defendant": "被告"}
MEDIA_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})
MAX_EXHIBIT_BYTES = 20 * 1024 * 1024
MAX_PAGES = 500
MAX_FILENAME = 200
PRESENTABLE = frozenset({"exhibits", "screen"})
_HEX = frozenset("0123456789abcdef")
_EDITABLE = OPEN_PHASES | {Phase.SCHEDULED}
_LIVE = frozenset(Phase) - {Phase.SEALED}

Decision = list[e.Event] | Rejected


@dataclass(frozen=True)
class Exhibit:
    exhibit_id: str
    label: str
    side: str
    participant: str  # who submitted it
    sha256: str
    media_type: str
    pages: int
    size: int
    filename: str


@dataclass(frozen=True)
class Showing:
    """The exhibit on everyone's screen in the hearing."""

    exhibit_id: str
    page: int
    presenter: str


@dataclass(frozen=True)
class Presenting:
    """Exhibits, the one shown, and who the judge allowed to present or share a screen."""

    exhibits: Mapping[str, Exhibit] = field(default_factory=dict)
    showing: Showing | None = None
    may_present: frozenset[str] = frozenset()
    may_share: frozenset[str] = frozenset()
    sharing: frozenset[str] = frozenset()

    def shares_screen(self, participant_id: str) -> bool:
        return participant_id in self.sharing

    def fold(self, event: e.Event) -> Presenting:
        match event:
            case e.ExhibitSubmitted():
                item = Exhibit(
                    event.exhibit_id, event.label, event.side, event.participant, event.sha256,
                    event.media_type, event.pages, event.size, event.filename,
                )  # fmt: skip
                return replace(self, exhibits={**self.exhibits, item.exhibit_id: item})
            case e.ExhibitPresented():
                return replace(self, showing=Showing(event.exhibit_id, event.page, event.presenter))
            case e.ExhibitPageTurned() if self.showing is not None:
                return replace(self, showing=replace(self.showing, page=event.page))
            case e.ExhibitPresentationEnded():
                return replace(self, showing=None)
            case e.PresentingAllowed():
                who = frozenset({event.participant})
                if event.what == "exhibits":
                    now = self.may_present
                    return replace(self, may_present=now | who if event.allowed else now - who)
                now = self.may_share
                return replace(self, may_share=now | who if event.allowed else now - who)
            case e.ExhibitNumbered() if event.exhibit_id in self.exhibits:
                item = replace(self.exhibits[event.exhibit_id], label=event.label)
                return replace(self, exhibits={**self.exhibits, item.exhibit_id: item})
            case e.ScreenShareChanged():
                who = frozenset({event.participant})
                sharing = self.sharing | who if event.sharing else self.sharing - who
                return replace(self, sharing=sharing)
        return self


EVENTS: tuple[type[e.Event], ...] = (
    e.ExhibitSubmitted,
    e.ExhibitPresented,
    e.ExhibitPageTurned,
    e.ExhibitPresentationEnded,
    e.PresentingAllowed,
    e.ExhibitNumbered,
    e.ScreenShareChanged,
)


def exhibit_id_for(sha256: str) -> str:
    """Content-addressed: the same file is the same exhibit (and is submitted once)."""
    return "ex-" + sha256[:16]


# --- rules -----------------------------------------------------------------------------------


def _phase(state: HearingState, allowed: frozenset[Phase], what: str) -> Rejected | None:
    if state.phase in allowed:
        return None
    return Rejected(Refusal.WRONG_PHASE, f"cannot {what} while the hearing is {state.phase.value}")


def _side(me: ParticipantState, asked: str) -> str | Rejected:
    """A party's own side; a lawyer says which side they bring the exhibit for."""
    own = {Role.PLAINTIFF: "plaintiff", Role.DEFENDANT: "defendant"}.get(me.role)
    if own is not None and asked in ("", own):
        return own
    if own is None and asked in SIDES:
        return asked
    if own is not None:
        return Rejected(Refusal.FORBIDDEN, f"a {me.role.value} submits for the {own} only")
    return Rejected(Refusal.INVALID, "side must be plaintiff or defendant")


def _submit(state: HearingState, cmd: c.SubmitExhibit, actor: Actor) -> Decision:
    if (err := _phase(state, _EDITABLE, "submit an exhibit")) is not None:
        return err
    side = _side(state.participants[actor.id], cmd.side)
    if isinstance(side, Rejected):
        return side
    filename = cmd.filename.strip()
    problems = [
        (len(cmd.sha256) != 64 or not set(cmd.sha256) <= _HEX, "sha256 must be 64 hex digits"),
        (cmd.media_type not in MEDIA_TYPES, "an exhibit is a PDF, PNG or JPEG"),
        (not 0 < cmd.pages <= MAX_PAGES, f"an exhibit has 1 to {MAX_PAGES} pages"),
        (not 0 < cmd.size <= MAX_EXHIBIT_BYTES, f"an exhibit is 1 to {MAX_EXHIBIT_BYTES} bytes"),
        (not 0 < len(filename) <= MAX_FILENAME, f"a name has 1 to {MAX_FILENAME} characters"),
    ]
    for bad, why in problems:
        if bad:
            return Rejected(Refusal.INVALID, why)
    exhibit_id = exhibit_id_for(cmd.sha256)
    if (same := state.presenting.exhibits.get(exhibit_id)) is not None:
        return Rejected(Refusal.ALREADY_EXISTS, f"this file was already submitted ({same.label})")
    n = sum(1 for x in state.presenting.exhibits.values() if x.side == side) + 1
    label = f"{SIDES[side]}证据{n}"
    submitted = e.ExhibitSubmitted(
        exhibit_id, label, side, actor.id, cmd.sha256, cmd.media_type, cmd.pages, cmd.size,
        filename,
    )  # fmt: skip
    return [submitted]


def _allowed(state: HearingState, actor: Actor, what: str) -> bool:
    book = state.presenting
    return actor.role is Role.JUDGE or actor.id in (
        book.may_present if what == "exhibits" else book.may_share
    )


def _in_hearing(state: HearingState, actor: Actor, what: str) -> Rejected | None:
    if state.participants[actor.id].presence is Presence.IN_HEARING:
        return None
    return Rejected(Refusal.WRONG_PRESENCE, f"only those in the hearing {what}")


def _present(state: HearingState, cmd: c.PresentExhibit, actor: Actor) -> Decision:
    if not _allowed(state, actor, "exhibits"):
        return Rejected(Refusal.FORBIDDEN, "the judge has not allowed you to present exhibits")
    if (err := _phase(state, OPEN_PHASES, "present an exhibit")) is not None:
        return err
    if (err := _in_hearing(state, actor, "present exhibits")) is not None:
        return err
    item = state.presenting.exhibits.get(cmd.exhibit_id)
    if item is None:
        return Rejected(Refusal.INVALID, "no such exhibit in this hearing")
    if not 1 <= cmd.page <= item.pages:
        return Rejected(Refusal.INVALID, f"{item.label} has pages 1 to {item.pages}")
    shown = state.presenting.showing
    if shown is None:
        return [e.ExhibitPresented(item.exhibit_id, cmd.page, actor.id)]
    if actor.id != shown.presenter and actor.role is not Role.JUDGE:
        return Rejected(Refusal.FORBIDDEN, "another presentation is on; the judge decides")
    if shown.exhibit_id == item.exhibit_id:
        return [] if shown.page == cmd.page else [e.ExhibitPageTurned(item.exhibit_id, cmd.page)]
    return [
        e.ExhibitPresentationEnded(shown.exhibit_id),
        e.ExhibitPresented(item.exhibit_id, cmd.page, actor.id),
    ]


def _stop(state: HearingState, cmd: c.StopPresenting, actor: Actor) -> Decision:
    shown = state.presenting.showing
    if shown is None:
        return []
    if actor.id != shown.presenter and actor.role is not Role.JUDGE:
        return Rejected(Refusal.FORBIDDEN, "only its presenter or the judge stops a presentation")
    if (err := _phase(state, _LIVE, "stop presenting")) is not None:
        return err
    return [e.ExhibitPresentationEnded(shown.exhibit_id)]


def _allow(state: HearingState, cmd: c.AllowPresenting, actor: Actor) -> Decision:
    if (err := _phase(state, _LIVE, "allow presenting")) is not None:
        return err
    if cmd.what not in PRESENTABLE:
        return Rejected(Refusal.INVALID, "what must be exhibits or screen")
    target = state.participant(cmd.participant)
    if target is None:
        return Rejected(Refusal.UNKNOWN_PARTICIPANT, "no such participant in this hearing")
    if target.role is Role.JUDGE:
        return Rejected(Refusal.INVALID, "the judge may always present")
    book = state.presenting
    now = target.participant_id in (book.may_present if cmd.what == "exhibits" else book.may_share)
    if now == cmd.allowed:
        return []
    out: list[e.Event] = [e.PresentingAllowed(target.participant_id, cmd.what, cmd.allowed)]
    if not cmd.allowed:  # what they are showing now stops with the permission
        shown = book.showing
        if cmd.what == "exhibits" and shown is not None and shown.presenter == cmd.participant:
            out.append(e.ExhibitPresentationEnded(shown.exhibit_id))
        if cmd.what == "screen" and book.shares_screen(cmd.participant):
            out.append(e.ScreenShareChanged(cmd.participant, False))
    return out


def _share(state: HearingState, cmd: c.ShareScreen, actor: Actor) -> Decision:
    if state.presenting.shares_screen(actor.id) == cmd.sharing:
        return []
    if not cmd.sharing:  # stopping is always allowed
        return [e.ScreenShareChanged(actor.id, False)]
    if not _allowed(state, actor, "screen"):
        return Rejected(Refusal.FORBIDDEN, "the judge has not allowed you to share a screen")
    if (err := _phase(state, OPEN_PHASES, "share a screen")) is not None:
        return err
    if (err := _in_hearing(state, actor, "share a screen")) is not None:
        return err
    return [e.ScreenShareChanged(actor.id, True)]


MAX_LABEL = 40
# A court number is printed on the sealed record, whose font must have every character (an
# emoji would stop the seal): Chinese characters, ASCII letters and digits, and a little
# punctuation (原告证据3, 被告证据2-1, 第三人证据(补)1) are enough for every court's numbering.
_LABEL_PUNCTUATION = frozenset(" -_./()#（）【】、·")


def _label_problem(label: str) -> str | None:
    """Why ``label`` cannot be a court number, or None."""
    if not 0 < len(label) <= MAX_LABEL:
        return f"a court number has 1 to {MAX_LABEL} characters"
    for ch in label:
        chinese = "\u4e00" <= ch <= "\u9fff"
        if not (chinese or (ch.isascii() and ch.isalnum()) or ch in _LABEL_PUNCTUATION):
            return "a court number has Chinese characters, letters, digits and - _ . / ( ) # only"
    return None


def _number(state: HearingState, cmd: c.NumberExhibit, actor: Actor) -> Decision:
    if (err := _phase(state, _EDITABLE, "number an exhibit")) is not None:
        return err
    item = state.presenting.exhibits.get(cmd.exhibit_id)
    if item is None:
        return Rejected(Refusal.INVALID, "no such exhibit in this hearing")
    label = cmd.label.strip()
    if (why := _label_problem(label)) is not None:
        return Rejected(Refusal.INVALID, why)
    if label == item.label:
        return Rejected(Refusal.INVALID, f"{item.label} already has this number")
    if any(x.label == label for x in state.presenting.exhibits.values()):
        return Rejected(Refusal.ALREADY_EXISTS, f"another exhibit is {label}")
    return [e.ExhibitNumbered(item.exhibit_id, label, item.label, actor.id)]


HANDLERS: dict[type[c.Command], Callable[[HearingState, Any, Actor], Decision]] = {
    c.NumberExhibit: _number,
    c.SubmitExhibit: _submit,
    c.PresentExhibit: _present,
    c.StopPresenting: _stop,
    c.AllowPresenting: _allow,
    c.ShareScreen: _share,
}


# --- who may see what ------------------------------------------------------------------------


def visible_exhibits(
    state: HearingState, viewer: str, *, everything: bool = False
) -> list[Exhibit]:
    """The exhibits ``viewer`` may know of: the bench all; parties, lawyers and others in the
    hearing all; a witness only the one on screen while called in; anyone their own."""
    book = state.presenting
    me = state.participant(viewer)
    if everything or (me is not None and me.role in STAFF):
        return list(book.exhibits.values())
    if me is None:
        return []
    inside = me.presence is Presence.IN_HEARING
    shown = book.showing.exhibit_id if book.showing is not None and inside else None
    return [
        x
        for x in book.exhibits.values()
        if x.participant == viewer
        or x.exhibit_id == shown
        or (inside and me.role is not Role.WITNESS)
    ]


def may_fetch(state: HearingState, viewer: str, exhibit_id: str) -> bool:
    return any(x.exhibit_id == exhibit_id for x in visible_exhibits(state, viewer))


def may_see_event(state: HearingState, me: ParticipantState, event: e.Event) -> bool:
    """For a viewer not on the bench (judged against the state right after ``event``)."""
    inside = me.presence is Presence.IN_HEARING
    if isinstance(event, e.ExhibitSubmitted):
        return event.participant == me.participant_id or (inside and me.role is not Role.WITNESS)
    if isinstance(event, e.ExhibitNumbered):
        item = state.presenting.exhibits.get(event.exhibit_id)
        mine = item is not None and item.participant == me.participant_id
        return mine or (inside and me.role is not Role.WITNESS)
    if isinstance(event, e.PresentingAllowed | e.ScreenShareChanged):
        return inside or event.participant == me.participant_id
    return inside  # what is on screen, and its pages: the hearing's


def exhibit_json(x: Exhibit) -> dict[str, object]:
    return {
        "exhibit_id": x.exhibit_id,
        "label": x.label,
        "side": x.side,
        "participant": x.participant,
        "sha256": x.sha256,
        "media_type": x.media_type,
        "pages": x.pages,
        "size": x.size,
        "filename": x.filename,
    }


def presenting_view(
    state: HearingState, viewer: str, *, everything: bool = False
) -> dict[str, object]:
    """The exhibits ``viewer`` may know of, what is on screen, and who may present."""
    book = state.presenting
    me = state.participant(viewer)
    sees = everything or (
        me is not None and (me.role in STAFF or me.presence is Presence.IN_HEARING)
    )
    shown = book.showing if sees else None
    on_screen = book.exhibits.get(shown.exhibit_id) if shown is not None else None

    def who(people: frozenset[str]) -> list[str]:
        return sorted(people if sees else people & {viewer})

    return {
        "exhibits": [
            exhibit_json(x) for x in visible_exhibits(state, viewer, everything=everything)
        ],
        "showing": None
        if shown is None or on_screen is None
        else {**exhibit_json(on_screen), "page": shown.page, "presenter": shown.presenter},
        "may_present": who(book.may_present),
        "may_share": who(book.may_share),
        "sharing": who(book.sharing),
    }
