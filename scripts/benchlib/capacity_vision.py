"""Helpers of scripts/bench_capacity.py for the vision worker's modes (issue 13)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from .media_worker import cpu_seconds


def witness_id_photo() -> bytes:
    """The witness's ID photo: a frame of the same webcam clip they publish (tests/scenes.py),
    so the identity patrol matches, as for a witness whose identity was checked."""
    import scenes

    return bytes(scenes.jpeg(scenes.man(0)))


def register_id_photo(base: str, token: str, hid: str, pid: str, photo: bytes) -> str:
    """Blocking: the judge registers ``photo`` for ``pid`` (``POST .../id-photo``); returns
    the problem's message, or "" when it was taken."""
    import httpx

    r = httpx.post(f"{base}/api/v1/hearings/{hid}/participants/{pid}/id-photo", content=photo,
                   headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return "" if r.status_code == 201 else f"{r.status_code} {r.text[:200]}"


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the server and of its child processes (the vision checkers), and the
    children's part. A child that ends inside the window is missed (none should)."""
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as fh:
                kids += [int(k) for k in fh.read().split()]
    children = 0.0
    for kid in kids:
        with contextlib.suppress(OSError):
            children += cpu_seconds(kid)
    return cpu_seconds(pid) + children, children


def threads_vs_processes(threads: list[dict[str, Any]], full: list[dict[str, Any]]) -> dict[str, Any]:
    """Each count of hearings: the run with the vision checks in threads against the default
    run (child processes), side by side."""
    out: dict[str, Any] = {}
    for t in threads:
        p = next(r for r in full if r["hearings"] == t["hearings"])
        out[str(t["hearings"])] = {
            "loop_lag_p99_ms_threads": t["loop_lag_p99_ms"], "loop_lag_p99_ms_processes": p["loop_lag_p99_ms"],
            "loop_lag_ratio": round(p["loop_lag_p99_ms"] / max(t["loop_lag_p99_ms"], 1e-6), 3),
            "first_partial_p95_s": [t["caption_first_partial_s"].get("p95"), p["caption_first_partial_s"].get("p95")],
            "final_p95_s": [t["caption_final_s"].get("p95"), p["caption_final_s"].get("p95")],
            "flag_latency_p95_s": [t["flag_latency_s"].get("p95"), p["flag_latency_s"].get("p95")],
            "vision_cores": [t["components_cores"].get("vision"), p["components_cores"].get("vision")],
            "server_cores": [t["server_cores"], p["server_cores"]],
            "load_avg_1m": [t["load_avg_1m"], p["load_avg_1m"]],
        }
    return out


def pace_vs_baseline(pace_off: dict[str, Any] | None, one: dict[str, Any] | None) -> dict[str, Any] | None:
    """Vision and server cores of one full hearing with the vision pace off (the baseline) and on."""
    if pace_off is None or one is None:
        return None
    v0 = pace_off["components_cores"].get("vision", 0.0)
    v1 = one["components_cores"].get("vision", 0.0)
    return {"vision_cores_pace_off": v0, "vision_cores_pace_on": v1,
            "vision_ratio": round(v1 / max(v0, 1e-6), 2),
            "server_cores_pace_off": pace_off["server_cores"], "server_cores_pace_on": one["server_cores"]}
