"""A phone's browser sends audio in the packet size the court's offer asks for (issue 13).

The server's offers carry ``a=ptime:40`` (media/peer.py ``ask_audio_ptime``): half the packets
of the browsers' default 20 ms, and so half the per-packet work of receiving, forwarding,
recording and transcribing audio. Whether a browser honours it is the browser's business, so
it is checked on a real Chromium: the packets the server forwards from the party's microphone,
counted by the server itself (``GET /api/v1/hearings/{hid}/media``), with the default and,
as the baseline in the same test, with ``COURTROOM_AUDIO_PTIME=off``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from court_client import Server, route_counters, running_server, schedule
from e2e_helpers import DESKTOP, PHONE, by_id, join
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(params=["default", "off"])
def ptime_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Server]]:
    env = {} if request.param == "default" else {"COURTROOM_AUDIO_PTIME": "off"}
    with running_server(tmp_path / "data", args=["--ice-loopback-only"], extra_env=env) as s:
        yield request.param, s
        print("".join(s.output[-100:]))  # shown with a failure report


def test_the_browser_sends_the_audio_packets_the_offer_asks_for(
    pages: Any, ptime_server: tuple[str, Server]
) -> None:
    setting, server = ptime_server
    hid, inv = schedule(server, {"王审判长": "judge", "张原告": "plaintiff"})
    pid, jid = inv["张原告"]["participant_id"], inv["王审判长"]["participant_id"]
    judge, party = pages.open(DESKTOP), pages.open(PHONE)
    join(party, inv["张原告"])
    join(judge, inv["王审判长"])
    by_id(judge, "act-open_hearing").click()
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "opening")
    by_id(judge, f"act-admit-{pid}").click()
    expect(by_id(party, "screen-hearing")).to_be_visible()

    route = (pid, "audio", jid, "hearing")
    deadline = time.monotonic() + 30
    while route_counters(server, hid).get(route, 0) < 50 and time.monotonic() < deadline:
        time.sleep(0.5)  # media flowing: the party's audio reaches the judge
    a, t0 = route_counters(server, hid)[route], time.monotonic()
    time.sleep(6)
    b, t1 = route_counters(server, hid)[route], time.monotonic()
    rate = (b - a) / (t1 - t0)
    # Chromium's fake microphone never stops (no DTX): 1000 / ptime packets a second.
    if setting == "default":
        assert 20 <= rate <= 30, f"{rate:.1f} audio packets/s: the 40 ms asked for is 25"
    else:
        assert 40 <= rate <= 60, f"{rate:.1f} audio packets/s: the browsers' own 20 ms is 50"
    assert not pages.console[party] and not pages.console[judge]
