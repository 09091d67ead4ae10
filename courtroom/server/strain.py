"""Says in each hearing when the node serving it falls behind, and when it catches up.

A node past its capacity loses nothing at once: every packet, message and caption waits its
turn in one event loop. The capacity runs (docs/operations.md) show what that looks like: three
full hearings on two cores put the loop's lag at 0.47-0.57 s (p99), video at 1-4 frames a
second and captions 6-10 s behind, and nobody in those hearings could tell why. A judge who is
told can pause; court IT learns that the node is too small; and the record says when the
hearing's media and captions were unreliable.

Every ``CHECK_S`` the watch reads the loop monitor's lag (p99 over ``WINDOW_S``, the figure
``GET /api/v1/metrics`` reports). The node is strained after ``STRAIN_CHECKS`` readings in a row
at or above ``STRAINED_MS``, and recovered after ``RECOVER_CHECKS`` in a row below
``RECOVERED_MS``: the gap between the two keeps a node at the edge from flapping. Each hearing
with someone connected to this node gets ``node_strained`` (and one that gets its first
connection while the node is strained, at the next reading); each hearing told gets
``node_recovered`` at the end. Both are logged, for the bench only (domain/visibility.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from ..domain import events as ev
from .runtime import HearingRuntime

log = logging.getLogger(__name__)

CHECK_S = 5.0
WINDOW_S = 10.0
STRAINED_MS = 250.0  # two hearings on the 2-core VM: 370-405 ms, captions 3 s behind
RECOVERED_MS = 100.0  # one full hearing: 17-46 ms
STRAIN_CHECKS = 2
RECOVER_CHECKS = 3


class StrainWatch:
    def __init__(
        self,
        lag_p99_ms: Callable[[float], float],
        hearings: Callable[[], Iterable[str]],
        runtime: Callable[[str], Awaitable[HearingRuntime]],
        node: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lag = lag_p99_ms
        self._hearings = hearings
        self._runtime = runtime
        self.node = node
        # the module's figures, read now (a test may set them before the server starts)
        self.check_s, self.window_s = CHECK_S, WINDOW_S
        self.strained_ms, self.recovered_ms = STRAINED_MS, RECOVERED_MS
        self._clock = clock
        self.strained_since: float | None = None
        self.worst_ms = 0.0
        self.told: set[str] = set()  # hearings told of the current strain
        self._high = self._low = 0
        self._task: asyncio.Task[None] | None = None

    def observe(self, p99_ms: float) -> str | None:
        """One reading: ``"strained"`` or ``"recovered"`` when the state changes, else None."""
        if self.strained_since is None:
            self._high = self._high + 1 if p99_ms >= self.strained_ms else 0
            if self._high >= STRAIN_CHECKS:
                self.strained_since, self.worst_ms, self._low = self._clock(), p99_ms, 0
                return "strained"
            return None
        self.worst_ms = max(self.worst_ms, p99_ms)
        self._low = self._low + 1 if p99_ms < self.recovered_ms else 0
        if self._low >= RECOVER_CHECKS:
            self._high = 0
            return "recovered"
        return None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="strain-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            try:
                await self.check()
            except Exception:
                log.exception("strain watch: a check failed")

    async def check(self) -> None:
        p99 = self._lag(self.window_s)
        change = self.observe(p99)
        if change == "recovered":
            await self._recovered()
        elif self.strained_since is not None:
            if change == "strained":
                log.warning("this node is falling behind: event-loop lag p99 %.0f ms over %.0f s",
                            p99, self.window_s)
            await self._strained(p99)

    async def _strained(self, p99: float) -> None:
        """Tell each hearing served here that is not told yet (new ones too)."""
        event = ev.NodeStrained(self.node, round(p99, 1), self.window_s)
        for hearing_id in sorted(set(self._hearings()) - self.told):
            if await self._record(hearing_id, event):
                self.told.add(hearing_id)

    async def _recovered(self) -> None:
        assert self.strained_since is not None
        lasted = round(self._clock() - self.strained_since, 1)
        log.warning("this node is keeping up again after %.0f s (worst lag p99 %.0f ms)",
                    lasted, self.worst_ms)
        event = ev.NodeRecovered(self.node, lasted, round(self.worst_ms, 1))
        for hearing_id in sorted(self.told):
            await self._record(hearing_id, event)
        self.told.clear()
        self.strained_since = None

    async def _record(self, hearing_id: str, event: ev.Event) -> bool:
        try:
            runtime = await self._runtime(hearing_id)
            await runtime.record([event])
        except Exception as exc:  # e.g. the hearing moved to another node meanwhile
            log.info("strain watch: %s not logged in hearing %s (%s)", event.TYPE, hearing_id,
                     type(exc).__name__)
            return False
        return True
