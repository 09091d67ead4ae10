"""Chat in the browser (issue #15): the clerk and a waiting witness write to each other, the
bench sees who is typing and unread counts, the judge mutes a party, and the waiting witness's
page shows nothing else of the hearing's chat."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import WAIT_MS
from court_client import Server, schedule
from e2e_helpers import DESKTOP, PHONE, by_id, join, snap
from playwright.sync_api import expect

JUDGE, CLERK, PARTY, WITNESS = "王法官", "钱书记", "孙原告", "周证人"


@pytest.fixture(autouse=True)
def patient() -> Iterator[None]:
    """Four pages with media on two busy cores: longer waits for this test only."""
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=WAIT_MS)


def write(page: Any, panel: str, text: str) -> None:
    box = by_id(page, panel).get_by_test_id("chat-input")
    box.fill(text)
    box.press("Enter")
    expect(by_id(page, panel).locator(".chat-text", has_text=text)).to_have_count(1)


def test_chat_between_clerk_and_waiting_witness_typing_unread_and_mute(pages: Any, server: Server) -> None:
    _, inv = schedule(server, {JUDGE: "judge", CLERK: "clerk", PARTY: "plaintiff", WITNESS: "witness"})
    pid, wid = inv[PARTY]["participant_id"], inv[WITNESS]["participant_id"]
    judge, clerk, party, witness = pages.open(DESKTOP), pages.open(DESKTOP), pages.open(PHONE), pages.open(PHONE)
    for page, name in ((judge, JUDGE), (clerk, CLERK), (party, PARTY), (witness, WITNESS)):
        page.set_default_timeout(30_000)
        join(page, inv[name])
    by_id(judge, "act-open_hearing").click()
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "opening")
    by_id(judge, f"act-admit-{pid}").click()
    expect(by_id(party, "screen-hearing")).to_be_visible()
    by_id(judge, f"act-admit-{wid}").click()
    expect(by_id(witness, "screen-waiting")).to_be_visible()

    # The clerk writes to the waiting witness, who answers from the waiting room.
    by_id(clerk, f"chat-tab-participant:{wid}").click()
    write(clerk, "panel-chat", "请稍候，马上传您。")
    expect(by_id(witness, "waiting-chat").locator(".chat-text", has_text="马上传您")).to_have_count(1)
    write(witness, "waiting-chat", "好的，我在等。")
    expect(by_id(clerk, "panel-chat").locator(".chat-text", has_text="我在等")).to_have_count(1)

    # The judge reads "everyone": the private conversation shows two unread, then none once read.
    unread = by_id(judge, f"chat-unread-participant:{wid}")
    expect(unread).to_have_text("2")
    by_id(judge, f"chat-tab-participant:{wid}").click()
    expect(unread).to_have_count(0)
    expect(by_id(judge, "panel-chat").locator(".chat-text")).to_have_count(2)
    by_id(judge, "chat-tab-hearing").click()

    # The party types: the bench sees who; then the message reaches everyone in the hearing.
    by_id(party, "hearing-chat").get_by_test_id("chat-input").fill("原告请求")
    expect(by_id(judge, "chat-typing")).to_contain_text(PARTY)
    expect(by_id(clerk, "chat-typing")).to_contain_text(PARTY)
    by_id(party, "hearing-chat").get_by_test_id("chat-input").press("Enter")
    expect(by_id(judge, "panel-chat").locator(".chat-text", has_text="原告请求")).to_have_count(1)
    snap(judge, "chat-console")

    # The judge mutes the party: the composer gives way to a notice; unmuted, it is back.
    by_id(judge, f"act-mute_chat-{pid}").click()
    expect(by_id(party, "chat-muted")).to_be_visible()
    expect(by_id(party, "hearing-chat").get_by_test_id("chat-input")).to_have_count(0)
    by_id(judge, f"act-unmute_chat-{pid}").click()
    expect(by_id(party, "hearing-chat").get_by_test_id("chat-input")).to_be_visible()
    snap(party, "chat-party")

    # The waiting witness's page: the clerk's line and its own answer, nothing else.
    texts = witness.eval_on_selector_all(".chat-text", "els => els.map(e => e.textContent)")
    assert texts == ["请稍候，马上传您。", "好的，我在等。"], texts
    body = witness.locator("body").inner_text()
    assert "原告请求" not in body and PARTY not in body and JUDGE not in body, body
    for page in (judge, clerk, party, witness):
        assert pages.console[page] == [], pages.console[page]
