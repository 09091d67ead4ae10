"""Helpers for the browser tests: screenshots and joining through the real UI."""

from __future__ import annotations

from typing import Any

from court_client import REPO
from playwright.sync_api import expect

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SHOTS = REPO / "test-artifacts" / "screenshots"


def snap(page: Any, name: str) -> None:
    """Screenshots at desktop and phone size; the page is put back to its own size after."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size(DESKTOP)
    page.wait_for_timeout(80)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), animations="disabled", caret="initial")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(80)
    page.screenshot(
        path=str(SHOTS / f"{name}-phone.png"),
        full_page=True,
        animations="disabled",
        caret="initial",
    )
    page.set_viewport_size(size)


def by_id(page: Any, testid: str) -> Any:
    return page.get_by_test_id(testid)


def enter_code(page: Any, invite: dict[str, Any], code: str | None = None) -> None:
    """Open the join link the server issued (``/join?h=..&p=..``) and submit a code."""
    if "join.html" not in page.url:
        page.goto(invite["join_url"])
    expect(by_id(page, "screen-code")).to_be_visible()
    by_id(page, "code-input").fill(code if code is not None else invite["code"])
    by_id(page, "code-submit").click()


def join(page: Any, invite: dict[str, Any]) -> None:
    """Code, device self-test, enter: stops once the server has welcomed the participant."""
    enter_code(page, invite)
    expect(by_id(page, "screen-selftest")).to_be_visible()
    expect(by_id(page, "selftest-message")).to_have_attribute("data-state", "ok")
    by_id(page, "selftest-enter").click()
    expect(by_id(page, "conn-state")).to_have_attribute("data-state", "connected")


def draw_signature(page: Any, pad_testid: str) -> None:
    """A short zig-zag stroke with the mouse on a signature pad."""
    pad = by_id(page, pad_testid)
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.15, y + h * 0.6)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(x + w * (0.15 + 0.06 * i), y + h * (0.6 - 0.25 * ((i % 3) - 1)), steps=2)
    page.mouse.up()
