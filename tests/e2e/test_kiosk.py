"""Kiosk mode: a supervisor signs in, attests, hosts a participant's session, and "end
session" leaves nothing of that participant in the browser (storage, media, peers, page)."""

from __future__ import annotations

from typing import Any

import pytest
from court_client import Server, schedule
from e2e_helpers import DESKTOP, by_id, join, snap
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(150)

JUDGE, SUPERVISOR, PARTY = "王审判长", "赵监督员", "张原告"

# Every stream getUserMedia handed out and every peer connection made, to check they are
# all stopped and closed after the session ends (the app cannot hide one from this).
TRACKER = """
window.__kioskTrack = { streams: [], pcs: [] };
const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (c) => {
  const s = await gum(c); window.__kioskTrack.streams.push(s); return s;
};
const PC = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) {
  const pc = new PC(...args); window.__kioskTrack.pcs.push(pc); return pc;
};
window.RTCPeerConnection.prototype = PC.prototype;
"""


def leftovers(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("""() => ({
      storage: [localStorage.length, sessionStorage.length, document.cookie.length],
      liveTracks: window.__kioskTrack.streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live').length,
      openPeers: window.__kioskTrack.pcs.filter((pc) => pc.connectionState !== 'closed').length,
      media: document.querySelectorAll('video, audio').length,
    })"""))


def test_kiosk_session_resets_to_the_supervisor(pages: Any, server: Server) -> None:
    hid, inv = schedule(server, {JUDGE: "judge", SUPERVISOR: "kiosk_supervisor", PARTY: "plaintiff"})
    sup, pid = inv[SUPERVISOR]["participant_id"], inv[PARTY]["participant_id"]
    judge = pages.open(DESKTOP)
    join(judge, inv[JUDGE])
    by_id(judge, "act-open_hearing").click()
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "opening")

    kiosk = pages.open(DESKTOP)
    kiosk.context.add_init_script(TRACKER)
    kiosk.goto(f"{server.base}/join.html?kiosk=1&h={hid}&p={sup}")
    expect(by_id(kiosk, "screen-kiosk-signin")).to_be_visible()
    snap(kiosk, "kiosk-signin")
    by_id(kiosk, "kiosk-supervisor-code").fill(inv[SUPERVISOR]["code"])
    by_id(kiosk, "kiosk-signin").click()
    expect(by_id(kiosk, "screen-kiosk-attest")).to_be_visible()
    expect(by_id(kiosk, "kiosk-supervisor")).to_contain_text(SUPERVISOR)
    expect(by_id(judge, f"connected-{sup}")).to_have_text("在线")

    # No session without the attestation.
    by_id(kiosk, "kiosk-participant").fill(pid)
    by_id(kiosk, "kiosk-participant-code").fill(inv[PARTY]["code"])
    by_id(kiosk, "kiosk-start").click()
    expect(by_id(kiosk, "kiosk-error")).to_contain_text("核对")
    by_id(kiosk, "kiosk-attest").check()
    snap(kiosk, "kiosk-attest")
    by_id(kiosk, "kiosk-start").click()

    # The participant's own session: self-test, lobby, admitted into the hearing.
    expect(by_id(kiosk, "screen-selftest")).to_be_visible()
    expect(by_id(kiosk, "kiosk-bar")).to_contain_text(SUPERVISOR)
    expect(by_id(kiosk, "selftest-message")).to_have_attribute("data-state", "ok")
    by_id(kiosk, "selftest-enter").click()
    expect(by_id(kiosk, "screen-lobby")).to_be_visible()
    by_id(judge, f"act-admit-{pid}").click()
    expect(by_id(kiosk, "screen-hearing")).to_be_visible()
    expect(by_id(kiosk, "whoami")).to_contain_text(PARTY)
    kiosk.wait_for_function("() => window.__courtroomTest.mediaState()?.connection === 'connected'", timeout=10_000)
    assert leftovers(kiosk)["liveTracks"] >= 2
    snap(kiosk, "kiosk-hosting")

    # End session: back to the supervisor, and nothing of the participant is left.
    by_id(kiosk, "kiosk-end").click()
    by_id(kiosk, "kiosk-end-confirm").click()
    expect(by_id(kiosk, "screen-kiosk-attest")).to_be_visible()
    expect(by_id(kiosk, "kiosk-bar")).to_be_hidden()
    expect(by_id(judge, f"connected-{pid}")).to_have_text("离线")
    kiosk.wait_for_timeout(300)
    assert leftovers(kiosk) == {"storage": [0, 0, 0], "liveTracks": 0, "openPeers": 0, "media": 0}
    body = kiosk.locator("body").inner_text()
    assert PARTY not in body and "12345" not in body, body
    assert by_id(kiosk, "kiosk-participant").input_value() == ""
    assert not by_id(kiosk, "kiosk-attest").is_checked()
    expect(by_id(kiosk, "conn-state")).to_be_hidden()
    snap(kiosk, "kiosk-after-reset")

    # The supervisor signs out: the sign-in screen again.
    by_id(kiosk, "kiosk-signout").click()
    expect(by_id(kiosk, "screen-kiosk-signin")).to_be_visible()
    expect(by_id(judge, f"connected-{sup}")).to_have_text("离线")
    assert pages.console[kiosk] == [] and pages.console[judge] == []
