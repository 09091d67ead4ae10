"""A judge's console killed mid-hearing and reopened shows every transcript line and chat
message it missed, in order, none twice (issue #15 item 4), in real Chromium with real media.

The party speaks Korean (espeak-ng, looped by Chromium's fake microphone, recognised live by
vosk) and chats from the phone page; the judge's page is closed mid-hearing; while it is
gone the party writes and speaks on; the judge gets a new join code (REST, as the registry
would issue it) and opens the console again in the same browser profile. The console sends
the cursor it kept (`hello.after`, checked in the page's websocket frames) and then shows
what it had, what it missed and what came after, each once, in the log's order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import scenes
from conftest import FLAGS, WAIT_MS, _launch
from court_client import SEOUL_HEARING, Server, read_log, registry, running_server, schedule
from e2e_helpers import DESKTOP, PHONE, by_id, enter_code, join
from fake_media import face_y4m, media_flags, silence_wav, speech_wav
from playwright.sync_api import expect
from speech import Speech

pytestmark = pytest.mark.timeout(600)

JUDGE, PARTY = "김판사", "박원고"


SLOW_MS = 30_000  # two Chromiums with real media, vosk and the watch share 2 (busy) cores


@pytest.fixture(autouse=True)
def patient() -> Iterator[None]:
    """Longer waits for this test only (conftest sets 10 s for every test)."""
    expect.set_options(timeout=SLOW_MS)
    yield
    expect.set_options(timeout=WAIT_MS)


@pytest.fixture
def ko_server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path / "data", args=["--ice-loopback-only"]) as s:
        yield s
        print("".join(s.output[-300:]))  # shown with a failure report


def wait_for(fn: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last: {last!r}")


def logged(server: Server, hid: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in read_log(server, hid) if e["event"]["type"] == kind]


def shown_lines(page: Any) -> list[str]:
    return list(page.eval_on_selector_all(
        "[data-testid='transcript'] li.line:not(.partial)", "els => els.map(e => e.dataset.lineId)"))


def shown_chat(page: Any) -> list[str]:
    return list(page.eval_on_selector_all(
        "[data-testid='panel-chat'] .chat-msg .chat-text", "els => els.map(e => e.textContent)"))


def say(page: Any, text: str) -> None:
    """The party writes in the chat box and presses Enter, as a person would."""
    box = by_id(page, "chat-input")
    box.fill(text)
    box.press("Enter")
    expect(by_id(page, "hearing-chat").locator(".chat-text", has_text=text)).to_have_count(1)


def test_a_reopened_console_shows_what_it_missed_once_in_order(
    playwright: Any, ko_server: Server, korean: dict[str, Speech], tmp_path: Path
) -> None:
    server = ko_server
    hid, inv = schedule(server, {JUDGE: "judge", PARTY: "plaintiff"}, SEOUL_HEARING)
    jid, pid = inv[JUDGE]["participant_id"], inv[PARTY]["participant_id"]
    files = {
        "judge": (face_y4m(scenes.man(0), tmp_path / "judge.y4m"), silence_wav(tmp_path / "judge.wav")),
        "party": (face_y4m(scenes.girl(), tmp_path / "party.y4m"),
                  speech_wav(korean["greeting"].path, tmp_path / "party.wav")),
    }
    browsers = {who: _launch(playwright, FLAGS + media_flags(*f)) for who, f in files.items()}
    errors: list[str] = []
    try:
        judge_ctx = browsers["judge"].new_context(viewport=DESKTOP, locale="zh-CN")
        party_ctx = browsers["party"].new_context(viewport=PHONE, locale="zh-CN", has_touch=True)
        for ctx in (judge_ctx, party_ctx):
            ctx.set_default_timeout(SLOW_MS)
        judge, party = judge_ctx.new_page(), party_ctx.new_page()
        for page in (judge, party):
            page.on("pageerror", lambda exc: errors.append(str(exc)))
        run(server, hid, jid, pid, inv, judge, judge_ctx, party)
        assert errors == [], errors
    finally:
        for b in browsers.values():
            b.close()


def run(server: Server, hid: str, jid: str, pid: str, inv: dict[str, Any],
        judge: Any, judge_ctx: Any, party: Any) -> None:
    join(judge, inv[JUDGE])
    expect(by_id(judge, "screen-console")).to_be_visible()
    join(party, inv[PARTY])
    by_id(judge, "act-open_hearing").click()
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "opening")
    by_id(judge, f"act-admit-{pid}").click()
    expect(by_id(party, "screen-hearing")).to_be_visible()

    # Before: a recognised line and a chat message reach the judge's console.
    wait_for(lambda: shown_lines(judge), 180, "a first transcript line in the console")
    say(party, "재판장님, 증거를 제출하겠습니다.")
    expect(by_id(judge, "panel-chat").locator(".chat-text", has_text="증거를 제출")).to_have_count(1)
    judge.wait_for_timeout(800)  # the console keeps its memory every half second
    kept = judge.evaluate("() => Object.entries(localStorage).filter(([k]) => k.startsWith('courtroom.console'))")
    assert len(kept) == 1 and "token" not in kept[0][1], kept  # the cursor and what it showed, never a token
    lines_before = len(logged(server, hid, "transcript_line"))

    # The console is killed mid-hearing; the hearing goes on without it. What it kept:
    judge.close()
    stored = [item["value"] for origin in judge_ctx.storage_state()["origins"]
              for item in origin["localStorage"] if item["name"].startswith("courtroom.console")]
    assert len(stored) == 1, stored
    cursor = json.loads(stored[0])["cursor"]
    wait_for(lambda: logged(server, hid, "participant_disconnected"), 15, "the judge's disconnect")
    missed_chat = ["첫째, 계약서 원본입니다.", "둘째, 송금 내역입니다."]
    for text in missed_chat:
        say(party, text)
    wait_for(lambda: len(logged(server, hid, "transcript_line")) >= lines_before + 2, 180,
             "two more recognised lines while the console is closed")

    # Reopened: a new join code, the same browser profile, a fresh page.
    with registry(server) as http:
        r = http.post(f"/api/v1/hearings/{hid}/participants/{jid}/join-code")
        assert r.status_code == 201, r.text
        code = r.json()["code"]
    judge = judge_ctx.new_page()
    hellos: list[dict[str, Any]] = []
    events: list[int] = []

    def on_socket(ws: Any) -> None:
        ws.on("framesent", lambda f: hellos.append(json.loads(f)) if '"hello"' in str(f) else None)
        ws.on("framereceived", lambda f: events.append(json.loads(f)["seq"]) if '"type": "event"' in str(f)
              or '"type":"event"' in str(f) else None)

    judge.on("websocket", on_socket)
    enter_code(judge, inv[JUDGE], code)
    expect(by_id(judge, "screen-selftest")).to_be_visible()
    expect(by_id(judge, "selftest-message")).to_have_attribute("data-state", "ok")
    by_id(judge, "selftest-enter").click()
    expect(by_id(judge, "screen-console")).to_be_visible()
    assert hellos and hellos[0].get("after") == cursor, hellos
    say(party, "셋째, 이상입니다.")  # after the reopen: live

    # Every line and message of the log is shown, in the log's order, none twice.
    def caught_up() -> bool:
        want = [e["event"]["line_id"] for e in logged(server, hid, "transcript_line")]
        return shown_lines(judge)[: len(want)] == want
    wait_for(caught_up, 30, "the console to show every logged transcript line")
    lines = shown_lines(judge)
    assert len(lines) == len(set(lines)), lines
    log_lines = [e["event"]["line_id"] for e in logged(server, hid, "transcript_line")]
    assert lines == log_lines[: len(lines)] and len(lines) >= lines_before + 2, (lines, log_lines)
    chat = ["재판장님, 증거를 제출하겠습니다.", *missed_chat, "셋째, 이상입니다."]
    expect(by_id(judge, "panel-chat").locator(".chat-text", has_text="이상입니다")).to_have_count(1)
    assert shown_chat(judge) == chat
    assert [e["event"]["text"] for e in logged(server, hid, "chat_message")] == chat
    # The server sent only what came after the cursor, and nothing twice.
    assert events and min(events) > cursor and len(events) == len(set(events)), events
