"""Refused access, logged and rate-limited: every refusal counts, a flood does not fill the log.

Each refusal belongs to a stream: the hearing's log when the hearing is authentic (a token
whose signature is good, a participant of that hearing), otherwise the server-wide
``_security`` chain. Refusals alike (stream, participant, route, reason, source) are
grouped in windows of ``window_s`` seconds: the first ``per_window`` of a window are logged
one by one (``access_refused``), the rest are counted and logged once when the window
closes (``access_refused_summary`` with the count). So a flood adds at most
``per_window + 1`` entries per window and kind of refusal, and nothing goes uncounted.

Wrong join codes are never grouped: the log's own count of them is the lock-out counter,
and the lock-out bounds them (``always=True``).

At most ``max_keys`` groups are tracked at once; past that, refusals fall into one
overflow group on ``_security`` (route, reason and source ``*``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from ..domain import events as ev
from .tally import TALLY

log = logging.getLogger(__name__)

SECURITY_STREAM = "_security"
Record = Callable[[str, list[ev.Event]], Awaitable[None]]
_Key = tuple[str, str, str, str, str]  # stream, participant, route, reason, source


@dataclass
class Window:
    """Refusals alike within one window: how many were logged, how many only counted."""

    start: float
    first_at: str
    last_at: str
    logged: int = 0
    suppressed: int = 0


K = TypeVar("K", bound=Hashable)


class WindowSampler(Generic[K]):
    """Count and sample: the first ``per_window`` of a key per window pass, the rest are counted.

    Pure bookkeeping, no I/O: the caller logs what ``admit`` lets through and writes a summary
    for each closed window with ``suppressed > 0`` (``admit`` and ``expired`` hand them back).
    """

    def __init__(
        self,
        *,
        per_window: int,
        window_s: float,
        max_keys: int = 10_000,
        overflow: K | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self.max_keys = max_keys
        self.overflow = overflow
        self._clock = clock
        self._windows: dict[K, Window] = {}

    def admit(self, key: K, at: str) -> tuple[K, bool, list[tuple[K, Window]]]:
        """(the key counted, whether to log this one, closed windows to summarise first)."""
        now = self._clock()
        closed: list[tuple[K, Window]] = []
        window = self._windows.get(key)
        if window is not None and now - window.start >= self.window_s:
            closed.append((key, self._windows.pop(key)))
            window = None
        if window is None and len(self._windows) >= self.max_keys and self.overflow is not None:
            key = self.overflow
            window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = Window(now, at, at)
        window.last_at = at
        if window.logged < self.per_window:
            window.logged += 1
            return key, True, closed
        window.suppressed += 1
        return key, False, closed

    def expired(self, *, everything: bool = False) -> list[tuple[K, Window]]:
        """Remove and return the windows that are over (all of them with ``everything``)."""
        now = self._clock()
        done = [
            k for k, w in self._windows.items() if everything or now - w.start >= self.window_s
        ]
        return [(k, self._windows.pop(k)) for k in done]


class RefusalLog:
    def __init__(
        self,
        record: Record,
        wall_clock: Callable[[], datetime],
        *,
        per_window: int = 5,
        window_s: float = 60.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._record = record
        self._wall = wall_clock
        overflow: _Key = (SECURITY_STREAM, "", "*", "*", "*")
        self._sampler: WindowSampler[_Key] = WindowSampler(
            per_window=per_window,
            window_s=window_s,
            max_keys=max_keys,
            overflow=overflow,
            clock=clock,
        )
        self.window_s = window_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="refusal-log")

    async def refuse(
        self,
        stream: str,
        participant: str,
        reason: str,
        *,
        route: str,
        source: str,
        always: bool = False,
    ) -> None:
        """Log one refusal (or count it, past the first few alike in this window)."""
        TALLY.refused_credential(reason)  # every one, logged or summarised (/metrics)
        if always:
            await self._write(stream, [ev.AccessRefused(participant, reason, route, source)])
            return
        at = self._wall().isoformat()
        # Counted before any await: concurrent requests cannot both take the last free slot.
        key, log_it, closed = self._sampler.admit((stream, participant, route, reason, source), at)
        for k, w in closed:
            if w.suppressed:
                await self._write(k[0], [self._summary(k, w)])
        if log_it:
            _, who, where, why, src = key
            await self._write(key[0], [ev.AccessRefused(who, why, where, src)])

    async def flush(self, *, everything: bool = False) -> None:
        """Close the windows that are over (all of them with ``everything``)."""
        for key, window in self._sampler.expired(everything=everything):
            if window.suppressed:
                await self._write(key[0], [self._summary(key, window)])

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush(everything=True)

    @staticmethod
    def _summary(key: _Key, window: Window) -> ev.AccessRefusedSummary:
        _, participant, route, reason, source = key
        return ev.AccessRefusedSummary(
            participant, reason, route, source, window.suppressed, window.first_at, window.last_at
        )

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(max(0.05, self.window_s / 4))
            try:
                await self.flush()
            except Exception:
                log.exception("refusal log: writing a summary failed")

    async def _write(self, stream: str, events: list[ev.Event]) -> None:
        try:
            await self._record(stream, events)
        except Exception:
            # A refusal must be answered even if the log is unavailable; say so loudly.
            log.exception("refusal log: could not append to %s", stream)
