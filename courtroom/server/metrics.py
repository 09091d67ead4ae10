"""Process health for soak tests and operators: event-loop lag, tasks, fds, RSS.

A background task sleeps ``INTERVAL_S`` and records how late it woke up: that lateness is
the event loop's lag (every websocket message and RTP packet waits at least that long).
``GET /api/v1/metrics`` (registry key) reports it with the process's asyncio tasks, open
file descriptors and resident memory, read from /proc on Linux, and the process's CPU by
component (server/cpu.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from .cpu import ACCOUNTS
from .gate import ApiError, bearer, court_of, is_key
from .watchdog import LoopWatchdog

INTERVAL_S = 0.1
WINDOW = 6000  # samples kept: the last 10 minutes


@dataclass(frozen=True)
class LoopLag:
    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class Metrics:
    rss_bytes: int | None = field(metadata={"doc": "resident set size (Linux /proc)"})
    fds: int | None = field(metadata={"doc": "open file descriptors (Linux /proc)"})
    tasks: int = field(metadata={"doc": "asyncio tasks not yet done"})
    threads: int
    loop_lag: LoopLag = field(metadata={"doc": "event-loop lag over `window_s` (at most 10 min)"})
    uptime_s: float
    cpu: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "doc": "cumulative CPU seconds: `process_s` (with the server's child processes), "
            "`children_s` (their share), and `components_s` by component "
            "(forwarding, recording, asr, vision, signalling_log, other; server/cpu.py)"
        },
    )


class LoopMonitor:
    def __init__(self) -> None:
        self.lags: deque[tuple[float, float]] = deque(maxlen=WINDOW)  # (when, lag) seconds
        self.started = time.monotonic()
        self.last_tick = self.started
        self._task: asyncio.Task[None] | None = None
        self.watchdog: LoopWatchdog | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-monitor")
        # A stall of the loop is said in the log with where the loop was (server/watchdog.py).
        self.watchdog = LoopWatchdog(lambda: self.last_tick, threading.get_ident())
        self.watchdog.start()

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(INTERVAL_S)
            now = time.monotonic()
            self.last_tick = now
            self.lags.append((now, max(0.0, now - before - INTERVAL_S)))

    async def stop(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def lag(self, window_s: float | None = None) -> LoopLag:
        since = time.monotonic() - window_s if window_s is not None else -1.0
        values = sorted(lag for at, lag in self.lags if at >= since)
        if not values:
            return LoopLag(0, 0.0, 0.0, 0.0)

        def pct(p: float) -> float:
            return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 2)

        return LoopLag(len(values), pct(0.50), pct(0.99), round(values[-1] * 1000, 2))

    def snapshot(self, window_s: float | None = None) -> Metrics:
        return Metrics(
            rss_bytes=_rss(),
            fds=_fds(),
            tasks=sum(1 for t in asyncio.all_tasks() if not t.done()),
            threads=_threads(),
            loop_lag=self.lag(window_s),
            uptime_s=round(time.monotonic() - self.started, 1),
            cpu=ACCOUNTS.snapshot(),
        )


def _rss() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _fds() -> int | None:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def _threads() -> int:
    return threading.active_count()


async def metrics_route(request: Request) -> JSONResponse:
    """``GET /api/v1/metrics`` (registry key): the process's health figures."""
    secret = bearer(request, "registry key")
    if not is_key(secret, court_of(request).registry_key):
        raise ApiError(
            401, "unauthenticated", "the registry key is required", reason="not the registry key"
        )
    raw = request.query_params.get("window_s", "600")
    try:
        window = float(raw)
    except ValueError:
        raise ApiError(400, "invalid", "window_s must be a number of seconds") from None
    if not math.isfinite(window) or window <= 0:
        raise ApiError(400, "invalid", "window_s must be a positive number of seconds")
    return JSONResponse(asdict(request.app.state.monitor.snapshot(window)))
