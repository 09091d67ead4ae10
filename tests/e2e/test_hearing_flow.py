"""A witness's way through a hearing, driven by clicking the real UI in a real Chromium.

Judge (desktop console), party and witness (phones) each in their own browser context,
against a real courtroom server over a real websocket.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from court_client import Server, registry, schedule
from e2e_helpers import DESKTOP, PHONE, by_id, enter_code, join, snap
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(150)

JUDGE, PARTY, WITNESS = "王审判长", "张原告", "李证人"


def assert_nothing_about_the_hearing(page: Any) -> None:
    """A waiting witness's page names nobody but the witness, and no case details."""
    text = page.locator("body").inner_text()
    assert JUDGE not in text and PARTY not in text, text
    assert "12345" not in text and "民间借贷" not in text, text  # case number, case title
    assert WITNESS in text


def assert_no_storage(page: Any) -> None:
    kept = page.evaluate(
        "() => [localStorage.length, sessionStorage.length, document.cookie.length]"
    )
    assert kept == [0, 0, 0]


def test_witness_is_admitted_called_in_sent_back_and_dismissed(pages: Any, server: Server) -> None:
    hid, inv = schedule(server, {JUDGE: "judge", PARTY: "plaintiff", WITNESS: "witness"})
    _jid, pid, wid = (inv[n]["participant_id"] for n in (JUDGE, PARTY, WITNESS))
    judge, party, witness = pages.open(DESKTOP), pages.open(PHONE), pages.open(PHONE)

    # The witness enters the code, passes the device check and waits in the lobby.
    enter_code(witness, inv[WITNESS])
    expect(by_id(witness, "screen-selftest")).to_be_visible()
    expect(by_id(witness, "selftest-message")).to_have_attribute("data-state", "ok")
    expect(by_id(witness, "selftest-video")).to_have_js_property("readyState", 4)
    snap(witness, "selftest")
    by_id(witness, "selftest-enter").click()
    expect(by_id(witness, "screen-lobby")).to_be_visible()
    expect(by_id(witness, "conn-state")).to_have_attribute("data-state", "connected")
    assert_nothing_about_the_hearing(witness)
    snap(witness, "lobby")

    # The judge's console: everyone listed, and live transcription for zh is plainly off.
    with httpx.Client(base_url=server.base, timeout=10) as http:
        zh = http.get("/api/v1/status").json()["transcription"]["zh"]
    assert zh["available"] is False
    join(judge, inv[JUDGE])
    expect(by_id(judge, "screen-console")).to_be_visible()
    banner = by_id(judge, "asr-banner-zh")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("实时语音转写未开启")
    expect(banner).to_contain_text(zh["message"])
    expect(by_id(judge, f"presence-{wid}")).to_have_text("等待准入")
    expect(by_id(judge, f"connected-{wid}")).to_have_text("在线")
    expect(by_id(judge, f"presence-{pid}")).to_have_text("未到")
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "scheduled")
    snap(judge, "console-scheduled")

    # Before opening, the witness can be admitted (to the waiting room) but not called in:
    # the refusal comes back from the server and is shown to the judge with its reason.
    by_id(judge, f"act-admit-{wid}").click()
    expect(by_id(witness, "screen-waiting")).to_be_visible()
    by_id(judge, f"act-call_in-{wid}").click()
    expect(by_id(judge, "alerts")).to_contain_text("传唤入庭")
    expect(by_id(judge, "alerts")).to_contain_text("当前庭审阶段不允许此操作")
    expect(by_id(witness, "screen-waiting")).to_be_visible()

    # The party gets the code wrong once: a clear error, and the judge sees the refusal live.
    enter_code(
        party, inv[PARTY], code="00000000" if inv[PARTY]["code"] != "00000000" else "11111111"
    )
    expect(by_id(party, "code-error")).to_contain_text("验证码不正确")
    snap(party, "code-wrong")
    expect(by_id(judge, "alerts")).to_contain_text(f"{PARTY} 访问被拒绝")
    by_id(party, "code-input").fill("")
    join(party, inv[PARTY])
    expect(by_id(party, "screen-lobby")).to_be_visible()

    # The judge opens the hearing and admits the party, who goes straight in.
    by_id(judge, "act-open_hearing").click()
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "opening")
    by_id(judge, f"act-admit-{pid}").click()
    expect(by_id(party, "screen-hearing")).to_be_visible()
    expect(by_id(party, "phase")).to_have_text("开庭")
    expect(by_id(party, "hearing-participants")).to_contain_text(JUDGE)
    expect(by_id(party, "hearing-participants")).not_to_contain_text(WITNESS)
    expect(by_id(party, "case-line")).to_contain_text("12345")
    by_id(judge, "act-phase-investigation").click()
    expect(by_id(party, "phase")).to_have_text("法庭调查")

    # The witness waits: rules, a place for the clerk's video, nothing about the hearing.
    expect(by_id(witness, "screen-waiting")).to_contain_text("候审须知")
    expect(by_id(witness, "supervision-slot")).to_be_visible()
    assert_nothing_about_the_hearing(witness)
    snap(witness, "waiting-room")

    # Called in: the witness now sees the hearing.
    by_id(judge, f"act-call_in-{wid}").click()
    expect(by_id(witness, "screen-hearing")).to_be_visible()
    expect(by_id(witness, "hearing-participants")).to_contain_text(PARTY)
    expect(by_id(witness, "phase")).to_have_text("法庭调查")
    expect(by_id(judge, f"presence-{wid}")).to_have_text("在庭")

    # Media controls: the witness turns the camera off; the judge cuts and restores the mic.
    by_id(witness, "self-mute-video").click()
    expect(by_id(witness, "self-mute-video")).to_have_attribute("aria-pressed", "true")
    expect(by_id(judge, f"row-{wid}")).to_contain_text("本人已关闭：摄像头")
    by_id(judge, f"act-cut_media-audio-{wid}").click()
    expect(by_id(witness, "self-mute-audio")).to_contain_text("已被法官关闭")
    expect(by_id(witness, "self-mute-audio")).to_be_disabled()
    snap(witness, "hearing")
    snap(judge, "console-in-session")
    by_id(judge, f"act-restore_media-audio-{wid}").click()
    expect(by_id(witness, "self-mute-audio")).not_to_contain_text("已被法官关闭")

    # Sent back: the hearing disappears from the witness's page again.
    by_id(judge, f"act-send_back-{wid}").click()
    expect(by_id(witness, "screen-waiting")).to_be_visible()
    assert_nothing_about_the_hearing(witness)

    # Dismissed: the exit screen, and the connection is over.
    by_id(judge, f"act-dismiss-{wid}").click()
    expect(by_id(witness, "screen-exit")).to_have_attribute("data-presence", "dismissed")
    expect(by_id(witness, "conn-state")).to_have_attribute("data-state", "ended")
    expect(by_id(judge, f"presence-{wid}")).to_have_text("已退庭")
    assert_no_storage(witness)
    snap(witness, "exit-dismissed")

    # Reloading keeps nothing: a new code is needed, and entry is refused with a clear message.
    with registry(server) as http:
        r = http.post(f"/api/v1/hearings/{hid}/participants/{wid}/join-code")
        assert r.status_code == 201, r.text
        new_code = r.json()
    witness.reload()
    expect(by_id(witness, "screen-code")).to_be_visible()
    enter_code(witness, new_code)
    by_id(witness, "selftest-enter").click()
    expect(by_id(witness, "screen-stopped")).to_have_attribute("data-reason", "dismissed")
    expect(by_id(witness, "screen-stopped")).to_contain_text("不能再次进入")
    expect(by_id(witness, "conn-state")).to_have_attribute("data-state", "refused")
    snap(witness, "refused-after-dismissal")

    # A network blip on the party's phone: visibly reconnecting, then back in the hearing.
    party_ctx = party.context
    party_ctx.set_offline(True)
    expect(by_id(party, "conn-state")).to_have_attribute("data-state", "reconnecting")
    expect(by_id(party, "net-banner")).to_contain_text("正在自动重新连接")
    expect(by_id(judge, f"connected-{pid}")).to_have_text("离线")
    snap(party, "reconnecting")
    party_ctx.set_offline(False)
    expect(by_id(party, "conn-state")).to_have_attribute("data-state", "connected", timeout=15_000)
    expect(by_id(party, "screen-hearing")).to_be_visible()
    expect(by_id(party, "net-banner")).to_be_hidden()
    expect(by_id(judge, f"connected-{pid}")).to_have_text("在线")
    expect(by_id(judge, f"presence-{pid}")).to_have_text("在庭")

    # A websocket closed under the page (not via the offline switch) also reconnects.
    party.evaluate("() => window.__courtroomTest?.dropSocket()")
    expect(by_id(party, "conn-state")).to_have_attribute("data-state", "connected", timeout=15_000)
    expect(by_id(party, "screen-hearing")).to_be_visible()

    # Close and reopen with a reason.
    by_id(judge, "act-close_hearing").click()
    by_id(judge, "act-close_hearing-confirm").click()
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "closed")
    expect(by_id(party, "phase")).to_have_text("已闭庭")
    by_id(judge, "act-reopen_hearing").click()
    expect(by_id(judge, "alerts")).to_contain_text("请填写恢复庭审的理由")
    by_id(judge, "reopen-reason").fill("补充质证")
    by_id(judge, "act-reopen_hearing").click()
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "investigation")
    snap(judge, "console-after-reopen")

    # English is one click away, on every page.
    judge.get_by_test_id("lang-switch").click()
    expect(by_id(judge, "panel-phase")).to_contain_text("Investigation")
    expect(by_id(judge, "asr-banner-zh")).to_contain_text("Live transcription is OFF")
    snap(judge, "console-en")
    witness.get_by_test_id("lang-switch").click()
    expect(by_id(witness, "screen-stopped")).to_contain_text("you cannot come back in")

    for page in (party, witness):
        assert_no_storage(page)
    # The judge's console keeps its cursor, transcript and chat for a reopened page (memory.js),
    # and nothing else: no token, no session storage, no cookie.
    kept = judge.evaluate("() => [Object.keys(localStorage), sessionStorage.length, document.cookie.length]")
    assert kept[0] == [f"courtroom.console.v1.{hid}.{_jid}"] and kept[1:] == [0, 0], kept
    assert "token" not in judge.evaluate(f"() => localStorage.getItem('{kept[0][0]}')")
    for page in (judge, party, witness):
        assert pages.console[page] == [], pages.console[page]
    assert re.search(r"/join(\.html)?\?h=", witness.url)
