"""The discipline watch's samples are staggered: participants do not share a tick."""

from __future__ import annotations

import asyncio
import itertools
import time
import types
from typing import Any

from courtroom.server.discipline import DisciplineWatch, HearingWatch, WatchConfig


class _Service:
    def __init__(self, fps: float) -> None:
        self.config = WatchConfig(fps=fps)
        self._phases = 0

    next_phase = DisciplineWatch.next_phase

    async def worker(self) -> Any:
        return object()


def test_phases_spread_over_the_period() -> None:
    service = _Service(1.0)
    phases = [service.next_phase(1.0) for _ in range(10)]
    assert all(0.0 <= p < 1.0 for p in phases)
    gaps = [abs(a - b) for a, b in itertools.combinations(phases, 2)]
    assert min(gaps) > 0.05  # ten participants, never two on (nearly) the same tick
    five = sorted(phases[:5])
    assert max(b - a for a, b in itertools.pairwise([*five, five[0] + 1.0])) < 0.4


async def test_sample_times_of_participants_differ() -> None:
    fps = 5.0  # period 0.2 s
    service = _Service(fps)
    room = types.SimpleNamespace(
        runtime=types.SimpleNamespace(hearing_id="h-1"), hub=types.SimpleNamespace()
    )
    watch = HearingWatch(service, room)  # type: ignore[arg-type]
    times: dict[str, list[float]] = {}

    async def sample(worker: Any, pid: str, last_at: float | None) -> float | None:
        times.setdefault(pid, []).append(time.monotonic())
        return last_at

    watch._sample = sample  # type: ignore[method-assign]
    start = time.monotonic()
    pids = [f"p-{i}" for i in range(5)]
    tasks = [asyncio.create_task(watch._watch(pid)) for pid in pids]  # started together
    await asyncio.sleep(1.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    period = 1.0 / fps
    phases = {pid: (times[pid][0] - start) % period for pid in pids}
    spread = sorted(phases.values())
    assert min(b - a for a, b in itertools.pairwise(spread)) > 0.01, phases
    assert all(len(times[pid]) >= 4 for pid in pids)  # still every period, each at its phase
    assert set(watch.sampled_at) == set(pids)
