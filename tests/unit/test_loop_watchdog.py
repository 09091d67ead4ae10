"""The loop watchdog says when the event loop stopped turning, and where it was held."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from courtroom.server.metrics import LoopMonitor


def _hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # a synchronous call on the loop: what the watchdog is for


async def test_a_stalled_loop_is_logged_with_where_it_was(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="courtroom.server.watchdog")
    monitor = LoopMonitor()
    monitor.start()
    try:
        await asyncio.sleep(0.3)  # a few ticks
        _hold_the_loop(1.6)
        await asyncio.sleep(0.6)  # the loop turns again; the watchdog notices
    finally:
        await monitor.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "courtroom.server.watchdog"]
    stalled = [line for line in lines if line.startswith("event loop stalled")]
    assert len(stalled) == 1, lines
    assert "_hold_the_loop" in stalled[0] and "test_loop_watchdog.py" in stalled[0], stalled
    again = [line for line in lines if line.startswith("event loop turned again after")]
    assert len(again) == 1, lines
    seconds = float(again[0].rsplit(" ", 2)[-2])
    assert 1.4 <= seconds <= 2.5, again
    assert monitor.watchdog is not None and monitor.watchdog.stalls == 1


async def test_a_busy_but_turning_loop_is_not_a_stall(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="courtroom.server.watchdog")
    monitor = LoopMonitor()
    monitor.start()
    try:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            _hold_the_loop(0.05)  # busy, but yielding every 50 ms
            await asyncio.sleep(0)
    finally:
        await monitor.stop()
    assert not [r for r in caplog.records if r.name == "courtroom.server.watchdog"]
    assert monitor.watchdog is not None and monitor.watchdog.stalls == 0
