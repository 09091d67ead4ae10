"""The pages around the hearing: landing, bad links, code errors, refused devices, i18n."""

from __future__ import annotations

from typing import Any

import pytest
from court_client import Server, schedule
from e2e_helpers import DESKTOP, PHONE, by_id, enter_code, snap
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(90)


def test_landing_page_and_pasted_join_link(pages: Any, server: Server) -> None:
    page = pages.open(PHONE)
    page.goto(server.base + "/")
    expect(by_id(page, "screen-landing")).to_contain_text("在线庭审")
    snap(page, "landing")
    by_id(page, "join-link").fill("not a link")
    by_id(page, "join-go").click()
    expect(page.locator("#join-error")).to_be_visible()
    by_id(page, "lang-switch").click()
    expect(by_id(page, "screen-landing")).to_contain_text("How to take part")
    snap(page, "landing-en")
    by_id(page, "join-link").fill("https://court.example/join?h=h-abc&p=p-def")
    by_id(page, "join-go").click()
    page.wait_for_url("**/join.html?h=h-abc&p=p-def")
    expect(by_id(page, "screen-code")).to_be_visible()


def test_bad_link(pages: Any, server: Server) -> None:
    page = pages.open(PHONE)
    page.goto(server.base + "/join.html")
    expect(by_id(page, "screen-badlink")).to_contain_text("链接不完整")
    snap(page, "bad-link")


def test_code_screen_errors_and_lockout(pages: Any, server: Server) -> None:
    _, inv = schedule(server, {"张被告": "defendant"})
    page = pages.open(PHONE)
    page.goto(inv["张被告"]["join_url"])  # /join?… redirects to the app
    expect(by_id(page, "screen-code")).to_be_visible()
    code = by_id(page, "code-input")
    expect(code).to_have_attribute("inputmode", "numeric")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    snap(page, "code")
    by_id(page, "code-input").fill("1234")
    by_id(page, "code-submit").click()
    expect(by_id(page, "code-error")).to_contain_text("8 位数字")
    wrong = "00000000" if inv["张被告"]["code"] != "00000000" else "11111111"
    for _ in range(5):
        enter_code(page, inv["张被告"], code=wrong)
        expect(by_id(page, "code-error")).to_contain_text("验证码不正确")
    enter_code(page, inv["张被告"])  # even the right code, once locked
    expect(by_id(page, "code-error")).to_contain_text("请联系书记员获取新的验证码")
    snap(page, "code-locked")
    by_id(page, "lang-switch").click()
    expect(by_id(page, "screen-code")).to_contain_text("Enter your code")


def test_used_code(pages: Any, server: Server) -> None:
    _, inv = schedule(server, {"证人甲": "witness"})
    first, second = pages.open(PHONE), pages.open(PHONE)
    enter_code(first, inv["证人甲"])
    expect(by_id(first, "screen-selftest")).to_be_visible()
    enter_code(second, inv["证人甲"])
    expect(by_id(second, "code-error")).to_contain_text("此验证码已经使用过")


def test_refused_camera_permission_gives_guidance(
    pages: Any, server: Server, browser_without_media_permission: Any
) -> None:
    _, inv = schedule(server, {"证人乙": "witness"})
    page = pages.open(PHONE, browser=browser_without_media_permission)
    enter_code(page, inv["证人乙"])
    msg = by_id(page, "selftest-message")
    expect(msg).to_have_attribute("data-state", "failed")
    expect(msg).to_contain_text("拒绝了摄像头或麦克风权限")
    expect(by_id(page, "selftest-enter")).to_contain_text("仍然进入")
    snap(page, "selftest-denied")
    # The participant may still go in (the clerk helps): the lobby follows.
    by_id(page, "selftest-enter").click()
    expect(by_id(page, "screen-lobby")).to_be_visible()


def test_string_tables_match(pages: Any, server: Server) -> None:
    page = pages.open(DESKTOP)
    page.goto(server.base + "/")
    keys = page.evaluate("async () => (await import('/js/i18n.js')).KEYS_FOR_TESTS")
    assert sorted(keys["zh"]) == sorted(keys["en"])
