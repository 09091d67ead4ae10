"""Frame-flow tables of scripts/bench_media.py (where each video subscriber's frames went),
and the statistics its figures share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


def _delta(after: Any, before: Any) -> Any:
    if isinstance(after, dict):
        before = before if isinstance(before, dict) else {}
        return {k: _delta(v, before.get(k)) for k, v in after.items()}
    if isinstance(after, int) and not isinstance(after, bool) and isinstance(before, int):
        return after - before
    return after


FLOW_COLUMNS = [
    # (column, where, counter)
    ("pub_sent", "pub", "sent"), ("pub_key", "pub", "keyframes_sent"),
    ("pub_pli", "pub", "keyframe_requests"), ("pub_rtx", "pub", "retransmit_requests"),
    ("pub_rtxmiss", "pub", "retransmit_misses"), ("srv_in", "src", "frames_in"),
    ("srv_key", "src", "keyframes_in"), ("srv_lost", "src", "rtp_lost"),
    ("fwd", "route", "forwarded"), ("q_drop", "route", "dropped"),
    ("regate", "route", "regates"), ("gated", "route", "gated_drops"),
    ("sub_pli", "route", "keyframe_requests"), ("rtx_req", "route", "retransmit_requests"),
    ("rtx_miss", "route", "retransmit_misses"), ("cli_frames", "cli", "frames"),
    ("cli_lost", "cli", "rtp_lost"), ("cli_nack", "cli", "nacked"), ("cli_pli", "cli", "plis"),
]


def frame_flow(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Per video subscriber, where its frames went during the window (counter deltas):
    publisher sent -> server received -> forwarded (queue drops, re-gates) -> client."""
    d = _delta(after, before)
    rows = []
    for hearing, hub in d["server"].items():
        for key, route in sorted(hub["routes"].items()):
            pair, kind, _link = key.split("/")
            if kind != "video":
                continue
            src, dst = pair.split("->")
            where = {"pub": d["clients"][hearing][src]["publish"].get("video", {}),
                     "src": hub["sources"].get(f"{src}/video", {}), "route": route,
                     "cli": d["clients"][hearing][dst]["recv"].get(key, {})}
            row: dict[str, Any] = {"route": f"{hearing}:{pair}"}
            for col, part, name in FLOW_COLUMNS:
                row[col] = where[part].get(name)
            row["kf_wait_max"] = where["src"].get("keyframe_wait_max")
            rows.append(row)
    return rows


def print_flow(rows: list[dict[str, Any]], limit: int = 12) -> None:
    cols = ["route"] + [c for c, _, _ in FLOW_COLUMNS] + ["kf_wait_max"]
    print("  " + " ".join(f"{c:>10}" if c != "route" else f"{c:<22}" for c in cols))
    for row in sorted(rows, key=lambda r: r.get("cli_frames") or 0)[:limit]:
        print("  " + " ".join(f"{row['route']:<22}" if c == "route" else f"{row[c]!s:>10}"
                              for c in cols))
    totals = {c: sum(r[c] or 0 for r in rows) for c, _, _ in FLOW_COLUMNS}
    print("  totals " + ", ".join(f"{k}={v}" for k, v in totals.items()))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]



async def median_of(rounds: int, run: Callable[[], Awaitable[dict[str, Any]]]
                    ) -> dict[str, Any]:
    """``run`` ``rounds`` times: the run with the median per-stream cost, and the spread."""
    runs = [await run() for _ in range(rounds)]
    runs.sort(key=lambda r: r["per_stream"])
    best = dict(runs[len(runs) // 2])
    best["per_stream_all"] = [round(r["per_stream"], 5) for r in runs]
    return best
