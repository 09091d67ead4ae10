"""A Chromium phone in the cluster tests: joins from its HTTPS join link through Caddy and is
checked from its own getStats (``window.__courtroomTest.iceRoute()``) and coturn's log."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from playwright.async_api import expect

# The browser tests' own Chromium and flags (fake camera and microphone); their conftest
# imports e2e_helpers from its folder.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from tests.e2e.conftest import CHROMIUM, FLAGS

__all__ = ["CHROMIUM", "FLAGS", "phone_joins", "relayed_frames", "returned", "turn_allocated", "watch_return"]

PHONE_DEVICE = "Pixel 7"


async def relayed_frames(page: Any, after_peer: int, deadline: float) -> dict[str, Any]:
    """Wait until a peer of the page newer than ``after_peer`` decodes video over a relay pair."""
    route: dict[str, Any] = {}
    while time.monotonic() < deadline:
        route = await page.evaluate("() => window.__courtroomTest.iceRoute()") or {}
        if (route.get("peer", 0) > after_peer and route.get("local") == "relay"
                and route.get("framesDecoded", 0) > 0):
            return route
        await asyncio.sleep(0.2)
    raise AssertionError(f"no relayed video on the phone: {route}")


# Set in the page before a kill: the page's own clock (Date.now(), the machine's wall clock)
# when a peer newer than ``after`` first decodes video over a relay pair. The page polls its
# own getStats, so the time does not depend on when the test process gets round to asking (on
# 2 shared cores the test's own aiortc clients can keep its event loop tens of seconds late).
_WATCH = """(after) => {
  window.__courtroomBack = null;
  const timer = setInterval(async () => {
    const route = await window.__courtroomTest.iceRoute();
    if (route && route.peer > after && route.local === 'relay' && route.framesDecoded > 0) {
      window.__courtroomBack = { at: Date.now() / 1000, route };
      clearInterval(timer);
    }
  }, 100);
}"""


async def watch_return(page: Any, after_peer: int) -> None:
    """Start the page's own watch for its return with media (before the kill)."""
    await page.evaluate(_WATCH, after_peer)


async def returned(page: Any, deadline: float) -> tuple[float, dict[str, Any]]:
    """The page's wall-clock time of its return with media, and the route it came back on."""
    while time.monotonic() < deadline:
        back = await page.evaluate("() => window.__courtroomBack")
        if back:
            return float(back["at"]), dict(back["route"])
        await asyncio.sleep(0.5)
    raise AssertionError(f"the phone did not come back: {await page.evaluate('() => window.__courtroomTest.iceRoute()')}")


async def turn_allocated(cluster_dir: Path, participant: str, deadline: float) -> bool:
    """coturn's own log (-v) records a successful ALLOCATE under the participant's expiring
    TURN username (``<expiry>:<participant>``); nobody else here allocates (aiortc clients in
    loopback mode use no ICE servers, nor does the node's own side)."""
    text = ""
    while time.monotonic() < deadline:
        text = (cluster_dir / "turn.log").read_text(errors="replace")
        if any("ALLOCATE" in line and "success" in line and f":{participant}" in line
               for line in text.splitlines()):
            return True
        await asyncio.sleep(0.5)
    raise AssertionError(f"no allocation in coturn's log: {text[-1500:]}")


async def phone_joins(page: Any, invite: dict[str, Any]) -> None:
    await page.goto(invite["join_url"])
    await page.get_by_test_id("code-input").fill(invite["code"])
    await page.get_by_test_id("code-submit").click()
    await expect(page.get_by_test_id("selftest-message")).to_have_attribute("data-state", "ok", timeout=30_000)
    await page.get_by_test_id("selftest-enter").click()
    await expect(page.get_by_test_id("conn-state")).to_have_attribute("data-state", "connected", timeout=30_000)
