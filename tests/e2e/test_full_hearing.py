"""The whole hearing in three real Chromiums with real media, over loopback-only ICE.

Judge (desktop, a face from tests/scenes.py, silence), party (phone, another face, Korean speech
made by espeak-ng, tests/speech.py) and witness (phone, a third face, silence), each in its own browser process because
the fake media files are per process. The hearing's language is Korean, the speech model
present here. Steps (issue 7): the witness waits and receives no hearing media; the judge
calls the witness in (hearing media arrives); the party's speech appears in the judge's
console attributed to the party; the judge corrects it; the witness is sent out (hearing
bytes stop growing); the judge closes; everyone signs in the browser; the judge seals;
``courtroom verify`` passes on the sealed PDF.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import scenes
from conftest import FLAGS, WAIT_MS, _launch
from court_client import REPO, SEOUL_HEARING, Server, running_server, schedule
from e2e_helpers import DESKTOP, PHONE, by_id, draw_signature, join, snap
from fake_media import face_y4m, media_flags, silence_wav, speech_wav
from playwright.sync_api import expect
from speech import Speech

pytestmark = pytest.mark.timeout(300)

JUDGE, PARTY, WITNESS = "김판사", "박원고", "이증인"


def click(page: Any, testid: str) -> None:
    """Click as a person would: once the page is connected (it may be reconnecting under load)."""
    expect(by_id(page, "conn-state")).to_have_attribute("data-state", "connected", timeout=30_000)
    by_id(page, testid).click(timeout=30_000)


@pytest.fixture
def ko_server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    data = tmp_path / "data"
    with running_server(data, args=["--ice-loopback-only"]) as s:
        yield s, data
        print("".join(s.output[-300:]))  # shown with a failure report


def schedule_ko(server: Server) -> tuple[str, dict[str, dict[str, Any]]]:
    return schedule(server, {JUDGE: "judge", PARTY: "plaintiff", WITNESS: "witness"}, SEOUL_HEARING)


def inbound(page: Any) -> dict[str, int]:
    return dict(page.evaluate("() => window.__courtroomTest.inboundByLink()"))


def wait_for(fn: Any, timeout_s: float, what: str, every_s: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last: {last!r}")


def media_connected(page: Any) -> None:
    wait_for(lambda: (page.evaluate("() => window.__courtroomTest.mediaState()") or {}).get("connection") == "connected",
             10, "the media peer to connect")


def video_playing(tile: Any) -> None:
    expect(tile.locator("video")).to_have_count(1)
    wait_for(lambda: tile.locator("video").evaluate("v => v.videoWidth > 0 && v.readyState >= 2"), 10,
             "remote video frames")


def test_full_hearing_with_real_media(
    playwright: Any, ko_server: tuple[Server, Path], korean: dict[str, Speech], tmp_path: Path
) -> None:
    server, data_dir = ko_server
    hid, inv = schedule_ko(server)
    jid, pid, wid = (inv[n]["participant_id"] for n in (JUDGE, PARTY, WITNESS))

    # Fake devices made now: three faces, one Korean sentence, silence.
    files = {
        "judge": (face_y4m(scenes.man(0), tmp_path / "judge.y4m"), silence_wav(tmp_path / "judge.wav")),
        "party": (face_y4m(scenes.girl(), tmp_path / "party.y4m"),
                  speech_wav(korean["greeting"].path, tmp_path / "party.wav")),
        "witness": (face_y4m(scenes.boy(), tmp_path / "witness.y4m"),
                    silence_wav(tmp_path / "witness.wav")),
    }
    browsers = {who: _launch(playwright, FLAGS + media_flags(*f)) for who, f in files.items()}
    contexts = []
    errors: dict[str, list[str]] = {}
    # What each page heard last and said on its console: printed with a failure report.
    trace: dict[str, list[str]] = {}

    def open_page(who: str, size: dict[str, int]) -> Any:
        ctx = browsers[who].new_context(viewport=size, locale="zh-CN", has_touch=size == PHONE)
        ctx.set_default_timeout(WAIT_MS)
        contexts.append(ctx)
        page = ctx.new_page()
        errors[who] = []
        page.on("pageerror", lambda exc: errors[who].append(str(exc)))
        trace[who] = heard = []
        page.on("console", lambda m: heard.append(f"{time.strftime('%X')} console.{m.type}: {m.text[:200]}")
                if m.type in ("error", "warning") else None)
        page.on("websocket", lambda ws: watch_socket(ws, heard))
        return page

    try:
        judge, party, witness = open_page("judge", DESKTOP), open_page("party", PHONE), open_page("witness", PHONE)
        run_hearing(server, data_dir, hid, jid, pid, wid, inv, judge, party, witness, tmp_path)
        assert errors == {"judge": [], "party": [], "witness": []}, errors
    finally:
        for who, lines in trace.items():
            print(f"--- {who}: page errors {errors.get(who)}; last of {len(lines)} socket and console lines:")
            print("\n".join(lines[-40:]))
        for ctx in contexts:
            ctx.close()
        for b in browsers.values():
            b.close()


def watch_socket(ws: Any, heard: list[str]) -> None:
    """Each message's type and seq as the page's websocket received it (not its content)."""
    def frame(direction: str, payload: Any) -> None:
        try:
            msg = json.loads(payload)
        except (TypeError, ValueError):
            msg = {"type": "?"}
        inner = msg.get("event") or msg.get("data") or {}
        what = " ".join(str(x) for x in (msg.get("type"), msg.get("seq"), msg.get("id"), msg.get("name"),
                                         inner.get("type"), inner.get("presence")) if x is not None)
        heard.append(f"{time.strftime('%X')} ws {ws.url[-8:]} {direction} {what}")
    ws.on("framereceived", lambda payload: frame("in", payload))
    ws.on("framesent", lambda payload: frame("out", payload))
    ws.on("close", lambda _ws: heard.append(f"{time.strftime('%X')} ws {ws.url[-8:]} closed"))


def run_hearing(server: Server, data_dir: Path, hid: str, jid: str, pid: str, wid: str, inv: dict[str, Any],
                judge: Any, party: Any, witness: Any, tmp_path: Path) -> None:
    # Everyone joins through the real UI; the judge opens and admits.
    join(judge, inv[JUDGE])
    expect(by_id(judge, "screen-console")).to_be_visible()
    media_connected(judge)
    join(party, inv[PARTY])
    join(witness, inv[WITNESS])
    expect(by_id(judge, f"presence-{wid}")).to_have_text("等待准入")
    click(judge, "act-open_hearing")
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "opening")
    click(judge, f"act-admit-{pid}")
    click(judge, f"act-admit-{wid}")
    expect(by_id(party, "screen-hearing")).to_be_visible()
    expect(by_id(witness, "screen-waiting")).to_be_visible()

    # The party and the judge see and hear each other, each tile labelled with the name.
    media_connected(party)
    video_playing(by_id(judge, f"tile-{pid}"))
    expect(by_id(judge, f"tile-{pid}")).to_contain_text(PARTY)
    video_playing(by_id(party, f"tile-{jid}"))
    expect(by_id(party, f"tile-{jid}")).to_contain_text(JUDGE)
    expect(by_id(judge, f"quality-{pid}")).to_contain_text("kbps", timeout=10_000)

    # The witness waits: a connected peer, but no hearing media at all (no clerk, so no
    # supervision media either), and nothing about the hearing on the page.
    media_connected(witness)
    witness.wait_for_timeout(3000)
    got = inbound(witness)
    assert got.get("hearing", 0) == 0 and got.get("supervision", 0) == 0, got
    assert sum(got.values()) == 0, got
    expect(by_id(witness, "hearing-tiles")).to_have_count(0)
    text = witness.locator("body").inner_text()
    assert JUDGE not in text and PARTY not in text, text
    expect(by_id(witness, "sign-oath")).to_be_visible()
    expect(by_id(witness, "sign-oath-text")).to_be_visible(timeout=10_000)
    snap(witness, "full-witness-waiting")
    draw_signature(witness, "sign-oath-pad")
    click(witness, "sign-oath-confirm")
    expect(by_id(witness, "sign-oath-status")).to_be_visible()

    # Called in: hearing media now flows to the witness.
    click(judge, f"act-call_in-{wid}")
    expect(by_id(witness, "screen-hearing")).to_be_visible()
    wait_for(lambda: inbound(witness).get("hearing", 0) > 20_000, 10, "hearing media at the witness")
    video_playing(by_id(witness, f"tile-{pid}"))
    video_playing(by_id(witness, f"tile-{jid}"))
    video_playing(by_id(judge, f"tile-{wid}"))

    # The party's speech, recognised live, appears in the judge's console as the party's.
    line = by_id(judge, "transcript").locator(f"li.line:not(.partial)[data-speaker='{pid}']").first
    expect(line).to_be_visible(timeout=30_000)
    expect(line.get_by_test_id("line-speaker")).to_have_text(PARTY)
    assert line.locator(".line-text").inner_text().strip()
    # The same line reaches the participants in the hearing.
    expect(by_id(party, "hearing-transcript").locator(f"li.line:not(.partial)[data-speaker='{pid}']").first).to_be_visible()
    snap(judge, "full-console-live")
    snap(party, "full-party-hearing")
    snap(witness, "full-witness-hearing")

    # The clerk's work, done by the judge here: a line corrected in place, marked as such.
    line_id = line.get_attribute("data-line-id")
    click(judge, f"line-correct-{line_id}")
    by_id(judge, f"line-edit-{line_id}").fill("안녕하세요 저는 원고입니다 오늘 재판에 출석했습니다")
    click(judge, f"line-save-{line_id}")
    fixed = by_id(judge, f"line-{line_id}")
    expect(fixed).to_contain_text("已更正")
    expect(fixed).to_contain_text("재판에 출석했습니다")
    expect(by_id(party, f"line-{line_id}")).to_contain_text("재판에 출석했습니다")

    # Sent out: the witness's hearing bytes stop growing.
    click(judge, f"act-send_back-{wid}")
    expect(by_id(witness, "screen-waiting")).to_be_visible()
    witness.wait_for_timeout(2000)
    before = inbound(witness)
    witness.wait_for_timeout(3000)
    after = inbound(witness)
    assert after.get("hearing", 0) == before.get("hearing", 0), (before, after)
    assert PARTY not in witness.locator("body").inner_text()

    # Closed: the record is frozen; everyone reads it and signs in the browser.
    click(judge, "act-close_hearing")
    click(judge, "act-close_hearing-confirm")
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "closed")
    expect(by_id(judge, "panel-signing")).to_be_visible()
    for page in (judge, party):
        expect(by_id(page, "sign-record")).to_be_visible()
    # A witness outside the hearing is not given the record (the server's rule); the page
    # says so plainly instead of showing an error. This witness signed the oath instead.
    expect(by_id(witness, "sign-record-outside")).to_be_visible()
    snap(witness, "full-witness-closed")
    expect(by_id(party, "sign-record-text")).to_be_visible(timeout=10_000)
    snap(judge, "full-console-closed")
    snap(party, "full-party-record")

    by_id(party, "sign-record-search").fill(PARTY[:1])
    expect(by_id(party, "sign-record-text-hits")).to_be_visible()
    for page in (judge, party):
        expect(by_id(page, "sign-record-text")).to_contain_text(PARTY)
        draw_signature(page, "sign-record-pad")
        click(page, "sign-record-confirm")
        expect(by_id(page, "sign-record-status")).to_be_visible(timeout=15_000)
    for p in (jid, pid):
        expect(by_id(judge, f"signing-{p}")).to_have_attribute("data-status", "signed")
    expect(by_id(judge, f"signing-{wid}")).to_contain_text("已签署证人保证书")

    # Sealed, downloaded from the console, verified against the court's root certificate.
    click(judge, "act-seal")
    expect(by_id(judge, "sealed")).to_be_visible(timeout=30_000)
    click(judge, "record-pdf-fetch")
    with judge.expect_download() as dl:
        click(judge, "record-pdf")
    pdf = tmp_path / "record.pdf"
    dl.value.save_as(pdf)
    snap(judge, "full-console-sealed")
    verify = subprocess.run(
        [str(REPO / ".venv" / "bin" / "courtroom"), "verify", str(pdf), "--trust-root", str(data_dir / "keys" / "root.cert.pem")],
        capture_output=True, text=True, timeout=60, cwd=REPO)
    assert verify.returncode == 0, verify.stdout + verify.stderr
