"""The judge's console says when the server falls behind, and when it catches up (real Chromium).

The server runs in this process (tests/integration/in_process.py) so that the test can make its
event loop late, as an overloaded node's would be; the watch's figures are shortened (checks
every 0.5 s over 1 s). The judge's alerts list must show the strain and then the recovery, in
the judge's language; the witness's page, in the waiting room, shows neither.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from court_client import schedule
from e2e_helpers import DESKTOP, PHONE, by_id, join, snap
from in_process import in_process_server
from playwright.sync_api import expect

from courtroom.server import strain

pytestmark = pytest.mark.timeout(180)

JUDGE, WITNESS = "王法官", "李证人"


def test_the_judge_sees_the_server_fall_behind_and_catch_up(
    pages: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(strain, "CHECK_S", 0.5)
    monkeypatch.setattr(strain, "WINDOW_S", 1.0)
    with in_process_server(tmp_path / "data", ice_loopback_only=True) as court:
        _, inv = schedule(court, {JUDGE: "judge", WITNESS: "witness"})  # type: ignore[arg-type]
        judge = pages.open(DESKTOP)  # type: ignore[attr-defined]
        witness = pages.open(PHONE)  # type: ignore[attr-defined]
        join(judge, inv[JUDGE])
        join(witness, inv[WITNESS])
        by_id(judge, "act-open_hearing").click()
        by_id(judge, f"act-admit-{inv[WITNESS]['participant_id']}").click()
        expect(by_id(witness, "screen-waiting")).to_be_visible()

        stop = time.monotonic() + 4.0
        while time.monotonic() < stop:  # a loop that stalls 0.4 s every 0.5 s
            court.stall(0.4)
            time.sleep(0.5)
        expect(by_id(judge, "alerts")).to_contain_text("服务器负载过高", timeout=15_000)
        snap(judge, "console-node-strained")
        expect(by_id(judge, "alerts")).to_contain_text("服务器已恢复正常", timeout=20_000)
        for words in ("服务器负载过高", "服务器已恢复正常"):  # the two alerts' words
            expect(witness.locator("body")).not_to_contain_text(words)
        assert not pages.console[judge] and not pages.console[witness]  # type: ignore[attr-defined]
