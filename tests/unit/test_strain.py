"""The strain watch's rule (server/strain.py): when a node counts as strained, and as recovered."""

from __future__ import annotations

from typing import Any

import pytest

from courtroom.domain import events as ev
from courtroom.server.strain import StrainWatch


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Hearing:
    """Stands in for a HearingRuntime: what the watch records in it."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[ev.Event] = []
        self.fail = fail

    async def record(self, events: list[ev.Event]) -> list[Any]:
        if self.fail:
            raise RuntimeError("not this node's hearing")
        self.events.extend(events)
        return []


def _watch(readings: list[float], served: set[str], hearings: dict[str, _Hearing],
           clock: _Clock) -> StrainWatch:
    async def runtime(hearing_id: str) -> Any:
        return hearings[hearing_id]

    return StrainWatch(lambda window: readings.pop(0), lambda: served, runtime, "node-a",
                       clock=clock)


def test_one_slow_reading_is_not_strain_and_the_edge_does_not_flap() -> None:
    watch = StrainWatch(lambda w: 0.0, lambda: (), None, "n")  # type: ignore[arg-type]
    assert [watch.observe(x) for x in (300, 50, 300, 50, 300, 50)] == [None] * 6
    assert watch.observe(300) is None and watch.observe(260) == "strained"
    # recovery needs three readings under 100 ms in a row; one at 150 starts the count again
    assert [watch.observe(x) for x in (90, 90, 150, 90, 90)] == [None] * 5
    assert watch.observe(20) == "recovered"


@pytest.mark.parametrize("reading", [float("nan"), -1.0, 0.0])
def test_readings_that_are_not_lag_never_strain(reading: float) -> None:
    watch = StrainWatch(lambda w: 0.0, lambda: (), None, "n")  # type: ignore[arg-type]
    assert [watch.observe(reading) for _ in range(5)] == [None] * 5


async def test_each_hearing_served_is_told_once_and_told_of_the_end() -> None:
    clock = _Clock()
    hearings = {"h-1": _Hearing(), "h-2": _Hearing(), "h-3": _Hearing(), "h-gone": _Hearing(True)}
    served = {"h-1", "h-gone"}
    readings = [400.0, 420.0, 380.0, 500.0, 40.0, 30.0, 20.0]
    watch = _watch(readings, served, hearings, clock)
    await watch.check()
    assert hearings["h-1"].events == []  # one slow reading
    await watch.check()
    assert hearings["h-1"].events == [ev.NodeStrained("node-a", 420.0, 10.0)]
    served |= {"h-2"}  # someone connects to h-2 while the node is strained
    clock.now += 5
    await watch.check()
    assert hearings["h-2"].events == [ev.NodeStrained("node-a", 380.0, 10.0)]
    assert len(hearings["h-1"].events) == 1  # told once
    clock.now += 5
    await watch.check()
    for _ in range(3):
        clock.now += 5
        await watch.check()
    end = ev.NodeRecovered("node-a", 25.0, 500.0)  # strained at the 2nd reading, 25 s
    assert hearings["h-1"].events[-1] == end and hearings["h-2"].events[-1] == end
    assert hearings["h-3"].events == []  # nobody connected there: not this node's concern
    assert watch.told == set() and watch.strained_since is None
