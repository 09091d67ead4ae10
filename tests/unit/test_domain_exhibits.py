"""Exhibits and screen sharing in the domain: numbering by side, presenting and page turns,
the judge's permission, and what a witness may learn (events, state view, media plan)."""

from __future__ import annotations

import json

from domain_fixtures import NOW, actor, in_phase, scheduled, with_cast

from courtroom.domain import commands as c
from courtroom.domain import events as e
from courtroom.domain.errors import Refusal, Rejected
from courtroom.domain.exhibits import may_fetch
from courtroom.domain.hearing import HearingState, decide, evolve
from courtroom.domain.phases import Phase
from courtroom.domain.presence import Presence, Reason
from courtroom.domain.routing import Link, MediaKind, Route, media_plan
from courtroom.domain.visibility import may_see, view_for


def hearing() -> HearingState:
    """Open; the witness waits in the waiting room."""
    return in_phase(with_cast(scheduled(), {"witness": Presence.WAITING_ROOM}), Phase.EVIDENCE)


def run(state: HearingState, who: str, command: c.Command) -> tuple[HearingState, list[e.Event]]:
    out = decide(state, command, actor(who), NOW)
    assert isinstance(out, list), out
    for ev in out:
        state = evolve(state, ev)
    return state, out


def refused(state: HearingState, who: str, command: c.Command, code: Refusal) -> str:
    out = decide(state, command, actor(who), NOW)
    assert isinstance(out, Rejected) and out.code is code, out
    return out.reason


def submit(sha: str, side: str = "", name: str = "借条.pdf") -> c.SubmitExhibit:
    return c.SubmitExhibit(sha * 32, "application/pdf", 3, 1234, name, side)


def with_exhibits() -> HearingState:
    state = hearing()
    state, _ = run(state, "plaintiff", submit("a1"))
    state, _ = run(state, "lawyer", submit("b2", "defendant", "转账记录.pdf"))
    state, _ = run(state, "plaintiff", submit("c3"))
    return state


def test_the_court_numbers_exhibits_by_the_side_that_brought_them() -> None:
    state = with_exhibits()
    labels = {x.sha256[:2]: x.label for x in state.presenting.exhibits.values()}
    assert labels == {"a1": "原告证据1", "b2": "被告证据1", "c3": "原告证据2"}
    assert refused(state, "plaintiff", submit("a1"), Refusal.ALREADY_EXISTS).endswith("(原告证据1)")
    refused(state, "defendant", submit("d4", "plaintiff"), Refusal.FORBIDDEN)
    refused(state, "lawyer", submit("d4"), Refusal.INVALID)  # a lawyer says whose it is
    refused(state, "witness", submit("d4"), Refusal.FORBIDDEN)
    refused(state, "clerk", submit("d4"), Refusal.FORBIDDEN)
    for bad in (
        c.SubmitExhibit("A1" * 32, "application/pdf", 1, 1, "x.pdf", ""),
        c.SubmitExhibit("d4" * 32, "text/html", 1, 1, "x.pdf", ""),
        c.SubmitExhibit("d4" * 32, "application/pdf", 0, 1, "x.pdf", ""),
        c.SubmitExhibit("d4" * 32, "application/pdf", 1, 0, "x.pdf", ""),
        c.SubmitExhibit("d4" * 32, "application/pdf", 1, 1, "   ", ""),
        c.SubmitExhibit("d4" * 32, "application/pdf", 1, 1, "x" * 201, ""),
    ):
        refused(state, "plaintiff", bad, Refusal.INVALID)


def test_presenting_page_turns_and_the_judges_permission() -> None:
    state = with_exhibits()
    first = "ex-" + "a1" * 8
    refused(state, "lawyer", c.PresentExhibit(first), Refusal.FORBIDDEN)
    state, out = run(state, "judge", c.AllowPresenting("lawyer", "exhibits", True))
    assert out == [e.PresentingAllowed("lawyer", "exhibits", True)]
    state, out = run(state, "lawyer", c.PresentExhibit(first, 1))
    assert out == [e.ExhibitPresented(first, 1, "lawyer")]
    refused(state, "lawyer", c.PresentExhibit(first, 4), Refusal.INVALID)
    refused(state, "lawyer", c.PresentExhibit("ex-none"), Refusal.INVALID)
    state, out = run(state, "lawyer", c.PresentExhibit(first, 3))
    assert out == [e.ExhibitPageTurned(first, 3)]
    assert run(state, "lawyer", c.PresentExhibit(first, 3))[1] == []
    refused(state, "plaintiff", c.StopPresenting(), Refusal.FORBIDDEN)
    # the judge takes over with another exhibit; revoking ends the lawyer's presentation
    second = "ex-" + "b2" * 8
    state, out = run(state, "judge", c.PresentExhibit(second, 2))
    assert out == [e.ExhibitPresentationEnded(first), e.ExhibitPresented(second, 2, "judge")]
    refused(state, "lawyer", c.PresentExhibit(first), Refusal.FORBIDDEN)
    state, out = run(state, "judge", c.AllowPresenting("lawyer", "exhibits", False))
    assert out == [e.PresentingAllowed("lawyer", "exhibits", False)]
    state, out = run(state, "judge", c.StopPresenting())
    assert out == [e.ExhibitPresentationEnded(second)] and state.presenting.showing is None


def test_a_waiting_witness_learns_of_no_exhibit_but_the_one_shown_while_called_in() -> None:
    state = with_exhibits()
    first = "ex-" + "a1" * 8
    state, shown = run(state, "judge", c.PresentExhibit(first, 2))
    events = [e.ExhibitSubmitted(first, "原告证据1", "plaintiff", "plaintiff", "a1" * 32, "application/pdf", 3, 1234, "借条.pdf"), *shown]
    for ev in events:
        assert not may_see(state, "witness", ev, "judge")
        assert may_see(state, "defendant", ev, "judge")
    assert "借条" not in json.dumps(view_for(state, "witness"), ensure_ascii=False)
    assert "原告证据" not in json.dumps(view_for(state, "witness"), ensure_ascii=False)
    assert not may_fetch(state, "witness", first)
    # called in: the witness sees what is on screen, and only that
    state = evolve(state, e.PresenceChanged("witness", Presence.IN_HEARING, Reason.CALLED_IN))
    view = view_for(state, "witness")["presenting"]
    assert isinstance(view, dict)
    assert view["showing"]["label"] == "原告证据1" and view["showing"]["page"] == 2
    assert [x["label"] for x in view["exhibits"]] == ["原告证据1"]
    assert may_fetch(state, "witness", first) and not may_fetch(state, "witness", "ex-" + "b2" * 8)
    assert not may_see(state, "witness", events[0], "plaintiff")  # the list of submissions
    assert may_see(state, "witness", e.ExhibitPageTurned(first, 3), "judge")
    # the defendant sees every exhibit; the plaintiff's own are always theirs
    assert len(view_for(state, "defendant")["presenting"]["exhibits"]) == 3  # type: ignore[index]
    back = evolve(state, e.PresenceChanged("plaintiff", Presence.WAITING_ROOM, Reason.SENT_BACK))
    assert {x.label for x in back.presenting.exhibits.values() if may_fetch(back, "plaintiff", x.exhibit_id)} == {"原告证据1", "原告证据2"}


def test_a_shared_screen_is_routed_to_the_hearing_only_and_cut_like_any_track() -> None:
    state = hearing()
    refused(state, "lawyer", c.ShareScreen(True), Refusal.FORBIDDEN)
    state, _ = run(state, "judge", c.AllowPresenting("lawyer", "screen", True))
    assert not any(r.kind is MediaKind.SCREEN for r in media_plan(state))  # allowed, not sharing
    state, out = run(state, "lawyer", c.ShareScreen(True))
    assert out == [e.ScreenShareChanged("lawyer", True)]
    screen = {r for r in media_plan(state) if r.kind is MediaKind.SCREEN}
    assert Route("lawyer", MediaKind.SCREEN, "judge") in screen
    assert all(r.source == "lawyer" and r.link is Link.HEARING for r in screen)
    assert not any(r.destination == "witness" for r in screen)  # waiting room: nothing
    assert not any(r.source == "clerk" and r.kind is MediaKind.SCREEN for r in media_plan(state))
    cut, _ = run(state, "judge", c.CutMedia("lawyer", MediaKind.SCREEN))
    assert not any(r.kind is MediaKind.SCREEN for r in media_plan(cut))
    assert any(r.source == "lawyer" and r.kind is MediaKind.VIDEO for r in media_plan(cut))
    revoked, out = run(state, "judge", c.AllowPresenting("lawyer", "screen", False))
    assert out == [e.PresentingAllowed("lawyer", "screen", False), e.ScreenShareChanged("lawyer", False)]
    assert not any(r.kind is MediaKind.SCREEN for r in media_plan(revoked))
    _, out = run(state, "lawyer", c.ShareScreen(False))
    assert out == [e.ScreenShareChanged("lawyer", False)]
    refused(state, "judge", c.AllowPresenting("judge", "screen", True), Refusal.INVALID)
    refused(state, "judge", c.AllowPresenting("lawyer", "microphone", True), Refusal.INVALID)


def test_the_clerk_numbers_an_exhibit_and_the_old_number_is_kept_in_the_log() -> None:
    state = with_exhibits()
    second = "ex-" + "c3" * 8
    state, out = run(state, "clerk", c.NumberExhibit(second, " 原告证据5 "))
    assert out == [e.ExhibitNumbered(second, "原告证据5", "原告证据2", "clerk")]
    assert state.presenting.exhibits[second].label == "原告证据5"
    state, _ = run(state, "judge", c.NumberExhibit(second, "原告证据2"))  # the judge may too
    # a number is unique, printable and short; only the clerk and the judge give it
    refused(state, "clerk", c.NumberExhibit(second, "被告证据1"), Refusal.ALREADY_EXISTS)
    refused(state, "clerk", c.NumberExhibit(second, "原告证据2"), Refusal.INVALID)  # unchanged
    refused(state, "clerk", c.NumberExhibit("ex-" + "ff" * 8, "原告证据9"), Refusal.INVALID)
    for bad in ("", "   ", "x" * 41, "原告\u202e证据", "证据\ud800", "证据\n1", "证据\x00", "证据😀1", "éxhibit"):
        refused(state, "clerk", c.NumberExhibit(second, bad), Refusal.INVALID)
    for who in ("plaintiff", "lawyer", "witness", "observer"):
        refused(state, who, c.NumberExhibit(second, "原告证据7"), Refusal.FORBIDDEN)
    # a waiting witness learns nothing of it; the party whose exhibit it is does
    numbered = e.ExhibitNumbered(second, "原告证据7", "原告证据2", "clerk")
    assert not may_see(state, "witness", numbered, "clerk")
    assert may_see(state, "plaintiff", numbered, "clerk") and may_see(state, "defendant", numbered, "clerk")
    closed = in_phase(state, Phase.CLOSED)
    refused(closed, "clerk", c.NumberExhibit(second, "原告证据7"), Refusal.WRONG_PHASE)
