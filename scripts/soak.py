#!/usr/bin/env python3
"""Soak a real server: N hearings x M minutes with reconnects, cuts and call-ins.

    python scripts/soak.py                         # 8 hearings x 10 minutes
    python scripts/soak.py --hearings 4 --minutes 3

``courtroom serve --ice-loopback-only`` runs in a subprocess; this process drives every
hearing over real websockets with real aiortc peers (tests/media_clients.py, synthetic
160x120 VP8 and Opus) for the judge, a party and a witness. Each hearing loops through: the
witness is called in and sent back, the party's audio is cut and restored, the party and the
witness reconnect (websocket and media), a ping, every few seconds.

The server's own figures come from ``GET /api/v1/metrics`` (event-loop lag, asyncio tasks,
open fds, RSS; courtroom/server/metrics.py), sampled every 10 s. The baseline is the sample
at the end of warm-up (the first 20 % of the run, at least 30 s); growth is the last sample
against it. The last line of output is one JSON object. Goals (issue #11): RSS growth < 10 %,
loop lag p99 < 100 ms, tasks and fds back within 10 % of warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "integration")]

import httpx  # noqa: E402
from court_client import (  # noqa: E402
    REGISTRY_KEY,
    Client,
    Server,
    media_for,
    schedule,
    start_server,
    token_for,
)

SAMPLE_S = 10.0
ACTION_S = 4.0


class Hearing:
    def __init__(self, server: Server, index: int, stats: dict[str, int]) -> None:
        self.server, self.index, self.stats = server, index, stats
        self.clients: dict[str, Client] = {}
        self.peers: dict[str, Any] = {}
        self.tokens: dict[str, str] = {}
        self.pids: dict[str, str] = {}

    async def start(self) -> None:
        hid, invites = await asyncio.to_thread(
            schedule, self.server, {"judge": "judge", "party": "plaintiff", "witness": "witness"}
        )
        self.hid = hid
        for name, inv in invites.items():
            self.pids[name] = inv["participant_id"]
            self.tokens[name] = await asyncio.to_thread(token_for, self.server, inv)
        for name in ("judge", "party", "witness"):
            await self.join(name)
        judge = self.clients["judge"]
        await judge.command("admit", participant=self.pids["witness"])
        await judge.command("open_hearing")
        await judge.command("admit", participant=self.pids["party"])
        for name in ("judge", "party", "witness"):
            await self.media(name)

    async def join(self, name: str) -> None:
        client = await Client.join(self.server, self.tokens[name])
        assert client.welcome is not None and client.welcome["type"] == "welcome", client.welcome
        self.tokens[name] = client.welcome["token"]
        self.clients[name] = client

    async def media(self, name: str) -> None:
        self.peers[name] = await media_for(self.clients[name], self.pids[name])

    async def reconnect(self, name: str) -> None:
        """Drop the websocket and the peer connection, join again with the newest token."""
        old = self.clients[name]
        for m in old.received:
            if m["type"] in ("welcome", "token"):
                self.tokens[name] = m["token"]
        peer = self.peers.pop(name, None)
        if peer is not None:
            peer._pump.cancel()
            await peer.close()
        await old.close()
        await self.join(name)
        await self.media(name)
        self.stats["reconnects"] += 1

    async def step(self, n: int) -> None:
        judge = self.clients["judge"]
        action = n % 5
        if action == 0:
            r = await judge.command("call_in", participant=self.pids["witness"])
            self.stats["call_ins"] += int(r["ok"])
        elif action == 1:
            r = await judge.command("send_back", participant=self.pids["witness"])
            self.stats["send_backs"] += int(r["ok"])
        elif action == 2:
            await judge.command("cut_media", participant=self.pids["party"], kind="audio")
            await asyncio.sleep(1)
            r = await judge.command("restore_media", participant=self.pids["party"], kind="audio")
            self.stats["cuts"] += int(r["ok"])
        elif action == 3:
            await self.reconnect(random.choice(["party", "witness"]))
        else:
            await judge.send({"v": 1, "type": "ping", "id": f"soak-{n}"})
        # Keep the clients' inboxes from growing without bound over a long soak.
        for c in self.clients.values():
            if len(c.received) > 2000:
                c.received[:] = [m for m in c.received if m["type"] in ("welcome", "token")][-2:]

    async def run(self, until: float) -> None:
        n = self.index
        while time.monotonic() < until:
            try:
                await self.step(n)
                self.stats["actions"] += 1
            except Exception as exc:
                self.stats["errors"] += 1
                if self.stats["errors"] < 10:
                    print(f"hearing {self.index}: {exc!r}"[:300], file=sys.stderr)
            n += 1
            await asyncio.sleep(ACTION_S * random.uniform(0.7, 1.3))

    async def close(self) -> None:
        for peer in self.peers.values():
            peer._pump.cancel()
            with contextlib.suppress(Exception):
                await peer.close()
        for c in self.clients.values():
            with contextlib.suppress(Exception):
                await c.close()


def metrics(server: Server, window_s: float = 600) -> dict[str, Any]:
    r = httpx.get(
        f"{server.base}/api/v1/metrics",
        timeout=30,
        params={"window_s": window_s},
        headers={"Authorization": f"Bearer {REGISTRY_KEY}"},
    )
    r.raise_for_status()
    m: dict[str, Any] = r.json()
    m["at"] = time.monotonic()
    return m


def growth(start: float | None, end: float | None) -> float | None:
    if not start or end is None:
        return None
    return round((end - start) / start * 100, 1)


async def soak(server: Server, hearings: int, minutes: float) -> dict[str, Any]:
    stats = dict.fromkeys(("actions", "errors", "reconnects", "call_ins", "send_backs", "cuts"), 0)
    started = time.monotonic()
    rooms = [Hearing(server, i, stats) for i in range(hearings)]
    for room in rooms:  # one at a time: eight aiortc handshakes at once starve two cores
        await room.start()
    ramp_s = round(time.monotonic() - started, 1)
    duration = minutes * 60
    until = time.monotonic() + duration
    warmup_end = time.monotonic() + max(30.0, duration * 0.2)
    samples: list[dict[str, Any]] = []
    runners = [asyncio.create_task(room.run(until)) for room in rooms]
    baseline: dict[str, Any] | None = None
    while time.monotonic() < until:
        await asyncio.sleep(SAMPLE_S)
        sample = await asyncio.to_thread(metrics, server)
        samples.append(sample)
        if baseline is None and time.monotonic() >= warmup_end:
            baseline = sample
    await asyncio.gather(*runners)
    # Loop lag after warm-up only (start-up loads models and compiles; that is not a leak).
    steady_s = max(1.0, time.monotonic() - warmup_end)
    end = await asyncio.to_thread(metrics, server, steady_s)
    for room in rooms:
        await room.close()
    await asyncio.sleep(5)  # the server notices the disconnects and closes the peers
    idle = await asyncio.to_thread(metrics, server)
    base = baseline or samples[0]
    lag_p99 = end["loop_lag"]["p99_ms"]
    return {
        "hearings": hearings,
        "minutes": minutes,
        "ramp_up_s": ramp_s,
        **stats,
        "rss_mb": {
            "warmup": round(base["rss_bytes"] / 2**20, 1),
            "end": round(end["rss_bytes"] / 2**20, 1),
            "after_clients_left": round(idle["rss_bytes"] / 2**20, 1),
        },
        "rss_growth_pct": growth(base["rss_bytes"], end["rss_bytes"]),
        "loop_lag_ms_after_warmup": {
            "samples": end["loop_lag"]["samples"],
            "p50": end["loop_lag"]["p50_ms"],
            "p99": lag_p99,
            "max": end["loop_lag"]["max_ms"],
        },
        "fds": {"warmup": base["fds"], "end": end["fds"], "after_clients_left": idle["fds"]},
        "fds_growth_pct": growth(base["fds"], end["fds"]),
        "tasks": {
            "warmup": base["tasks"],
            "end": end["tasks"],
            "after_clients_left": idle["tasks"],
        },
        "tasks_growth_pct": growth(base["tasks"], end["tasks"]),
        "threads": {"warmup": base["threads"], "end": end["threads"]},
        "goals_met": {
            "rss_growth_lt_10pct": (growth(base["rss_bytes"], end["rss_bytes"]) or 0) < 10,
            "loop_lag_p99_lt_100ms": lag_p99 < 100,
            "fds_within_10pct": abs(growth(base["fds"], end["fds"]) or 0) <= 10,
            "tasks_within_10pct": abs(growth(base["tasks"], end["tasks"]) or 0) <= 10,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hearings", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    random.seed(args.seed)
    data = Path(tempfile.mkdtemp(prefix="courtroom-soak-"))
    server = start_server(data, args=["--ice-loopback-only"])
    try:
        result = asyncio.run(soak(server, args.hearings, args.minutes))
    finally:
        server.kill(15)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
