"""Helpers of scripts/bench_capacity.py: percentiles, and the server's own metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from court_client import registry


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(q * len(s)))], 3)


def summary(xs: list[float]) -> dict[str, Any]:
    return {"n": len(xs), "p50": pct(xs, 0.5), "p95": pct(xs, 0.95),
            "max": round(max(xs), 3) if xs else None}


def metrics(server: Any) -> dict[str, Any]:
    """Blocking: call it in a thread (a starved server may take seconds to answer, and the
    clients' media must keep flowing meanwhile)."""
    with registry(server) as http:
        r = http.get("/api/v1/metrics", params={"window_s": 60}, timeout=120)
        r.raise_for_status()
        return dict(r.json())


async def timed_metrics(server: Any) -> tuple[dict[str, Any], float]:
    """The metrics and the monotonic time they were (about) taken: the request's midpoint."""
    a = time.monotonic()
    m = await asyncio.to_thread(metrics, server)
    return m, (a + time.monotonic()) / 2
