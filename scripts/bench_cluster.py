#!/usr/bin/env python3
"""Cluster bench (issue 14): hearings per node at >= 14 fps for 1, 2 and 3 nodes, failover
time over repeated kill -9, and placement time per hearing.

Everything runs on this machine: a redis-server of its own, nodes (`courtroom serve` with
Redis and a node URL) sharing one SQLite file, and the clients. **The nodes and the clients
share the same cores** (2 on the development VM, with other people's work on them): the
capacity figures are this machine's, not a server's. Nodes run media only
(`COURTROOM_MEDIA_ONLY=1`: forwarding and signalling; no recording, ASR or vision), because a
full hearing alone takes about a core here (docs/operations.md, "Capacity").

* capacity: for n nodes, hearings of two participants (judge and plaintiff, each publishing
  pre-encoded VP8 320x180@15 and Opus, each subscribing to the other) are added one at a time,
  scheduled round robin over the nodes (a hearing is placed where it is scheduled), until a
  subscriber gets under 14 fps over the measured window. Reported: the most hearings at which
  every subscriber had >= 14 fps, and that per node. Baseline: 1 node.
* failover: two nodes; each round schedules a hearing on one, connects its judge there, kills
  that node with SIGKILL, and reconnects the judge the way the browser does (retries after 0.5,
  1, 1, then every 2 s, at the surviving node, following a redirect). Time from the kill to the
  judge's `welcome`, and to the surviving node holding the hearing. The killed node is
  restarted (same id) before the next round. Baseline: a plain reconnect to a live owner.
* placement: `POST /api/v1/hearings` latency on a 3-node cluster (it places the hearing: a
  Redis lease) against an unclustered node (the baseline), and `GET .../placement` answered by
  a node that does not hold the hearing.

    scripts/bench_cluster.py --max-nodes 3 --max-hearings 4 --seconds 10 --kills 10

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts"), str(REPO / "tests"), str(REPO / "tests" / "integration")]

import av  # noqa: E402
import httpx  # noqa: E402
import numpy as np  # noqa: E402
from bench_capacity import Peer  # noqa: E402
from benchlib.audio_levels import levels_dbov  # noqa: E402
from benchlib.capacity_report import pct, summary  # noqa: E402
from benchlib.capacity_speech import noise, opus_packets  # noqa: E402
from court_client import (  # noqa: E402
    BEIJING_HEARING,
    Client,
    Server,
    registry,
    schedule,
    start_server,
    token_for,
)

W, H, FPS = 320, 180, 15
ROLES = {"judge": "judge", "plaintiff": "plaintiff"}
LEASE_S = 5.0
BACKOFF_S = [0.5, 1.0, 1.0, 2.0]  # static/js/connection.js
PTIME_MS = 40  # the audio packets the nodes' offers ask for (media/config.py), as browsers send them


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> float:
    return round(os.getloadavg()[0], 2)


def synthetic_video(seconds: float = 4.0) -> list[bytes]:
    """VP8 packets of a moving gradient with noise, a keyframe every second."""
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = W, H, "yuv420p"
    enc.time_base = fractions.Fraction(1, 90000)
    enc.bit_rate = 300_000
    enc.gop_size = FPS
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    rng = np.random.default_rng(0)
    x = np.linspace(0, 255, W, dtype=np.float32)
    out: list[bytes] = []
    n = int(seconds * FPS)
    for i in range(n):
        row = (x + i * 8) % 256
        pic = np.repeat(np.repeat(row[None, :, None], H, 0), 3, 2)
        pic = np.clip(pic + rng.normal(0, 6, pic.shape), 0, 255).astype(np.uint8)
        f = av.VideoFrame.from_ndarray(pic, format="rgb24").reformat(format="yuv420p")
        f.pts = i * 6000
        out.extend(bytes(p) for p in enc.encode(f))
    out.extend(bytes(p) for p in enc.encode(None))
    return out[:n]


class Cluster:
    """A redis-server and nodes on loopback, sharing one SQLite file."""

    def __init__(self, root: Path, redis_url: str, *, media_only: bool = True) -> None:
        self.root, self.redis_url = root, redis_url
        self.env = {"COURTROOM_MEDIA_ONLY": "1"} if media_only else {}
        self.nodes: dict[str, Server] = {}

    def start(self, node_id: str) -> Server:
        port = free_port()
        env = {**self.env, "COURTROOM_REDIS_URL": self.redis_url, "COURTROOM_NODE_ID": node_id,
               "COURTROOM_NODE_URL": f"http://127.0.0.1:{port}", "COURTROOM_LEASE_TTL_S": str(LEASE_S)}
        server = start_server(self.root, extra_env=env, args=["--port", str(port), "--ice-loopback-only"])
        self.nodes[node_id] = server
        return server

    def stop(self) -> None:
        for server in self.nodes.values():
            server.kill(signal.SIGTERM)
        self.nodes.clear()


def own_db(redis_url: str, db: int) -> str:
    """Each step is a cluster of its own, with its own SQLite file: give it its own Redis
    database too, or its nodes find the earlier step's nodes dead and re-place their hearings
    (unknown to this step's database) on themselves."""
    return redis_url.rsplit("/", 1)[0] + f"/{db}"


def start_redis(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(root)], stdout=subprocess.DEVNULL)
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return proc, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


# --- capacity -----------------------------------------------------------------------------------

async def open_hearing(server: Server, index: int, audio: tuple[list[bytes], list[int]],
                       video: list[bytes]) -> list[Peer]:
    hearing = {**BEIJING_HEARING, "case_number": f"(2026)京0105民初{20000 + index}号"}
    _hid, invites = await asyncio.to_thread(schedule, server, ROLES, hearing)
    clients = {}
    for name, inv in invites.items():
        clients[name] = await Client.join(server, await asyncio.to_thread(token_for, server, inv))
    await clients["judge"].command("open_hearing")
    await clients["judge"].command("admit", participant=invites["plaintiff"]["participant_id"])
    return [Peer(name, invites[name]["participant_id"], clients[name], audio, video, set(), set(),
                 PTIME_MS) for name in clients]


async def capacity(root: Path, redis_url: str, n_nodes: int, args: argparse.Namespace,
                   audio: tuple[list[bytes], list[int]], video: list[bytes]) -> dict[str, Any]:
    cluster = Cluster(root / f"cap-{n_nodes}", own_db(redis_url, n_nodes))
    cluster.root.mkdir(parents=True, exist_ok=True)
    nodes = [cluster.start(f"cap{n_nodes}-node{i}") for i in range(n_nodes)]
    peers: list[Peer] = []
    rows = []
    held = 0
    try:
        for h in range(1, args.max_hearings + 1):
            peers += await open_hearing(nodes[(h - 1) % n_nodes], h, audio, video)
            await asyncio.sleep(args.warmup)
            since = time.monotonic()
            await asyncio.sleep(args.seconds)
            until = time.monotonic()
            fps = [r["frames"] / (until - since) for p in peers for r in p.received(since, until)
                   if r["kind"] == "video"]
            expected = 2 * h
            ok = len(fps) == expected and min(fps) >= 14.0
            rows.append({"hearings": h, "video_subscribers": len(fps), "expected": expected,
                         "fps_min": round(min(fps), 2) if fps else 0.0, "fps_p50": pct(fps, 0.5),
                         "load_avg_1m": load()})
            print(json.dumps({"nodes": n_nodes, **rows[-1]}), flush=True)
            if not ok:
                break
            held = h
    finally:
        for peer in peers:
            await peer.close()
        cluster.stop()
    return {"nodes": n_nodes, "held_at_14fps": held, "per_node": round(held / n_nodes, 2), "steps": rows}


# --- failover -----------------------------------------------------------------------------------

async def rejoin(server: Server, token: str, deadline: float) -> float:
    """Reconnect as the browser does; answers the monotonic time of the welcome."""
    attempt = 0
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            client = await Client.join(server, token, expect_welcome=False)
            m = await client.wait_for(lambda m: m["type"] in ("welcome", "redirect"), timeout=5)
            if m["type"] == "redirect":
                await client.close()
                target = Server(server.proc, m["url"].replace("ws://", "http://").removesuffix("/ws"))
                client = await Client.join(target, token, expect_welcome=False)
                m = await client.wait_for(lambda m: m["type"] == "welcome", timeout=5)
            if m["type"] == "welcome":
                at = time.monotonic()
                await client.close()
                return at
            await client.close()
        await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
        attempt += 1
    raise TimeoutError("the judge did not get back")


async def failover(root: Path, redis_url: str, kills: int) -> dict[str, Any]:
    cluster = Cluster(root / "failover", own_db(redis_url, 14))
    cluster.root.mkdir(parents=True, exist_ok=True)
    ids = ["fo-node0", "fo-node1"]
    for node_id in ids:
        cluster.start(node_id)
    back, placed, baseline = [], [], []
    try:
        for k in range(kills):
            victim, survivor = ids[k % 2], ids[(k + 1) % 2]
            server = cluster.nodes[victim]
            hid, inv = await asyncio.to_thread(schedule, server, {"judge": "judge"})
            judge = await Client.join(server, await asyncio.to_thread(token_for, server, inv["judge"]))
            token = judge.welcome["token"]  # type: ignore[index]
            # baseline: a plain reconnect while the owner lives
            await judge.close()
            t0 = time.monotonic()
            again = await Client.join(server, token)
            baseline.append(time.monotonic() - t0)
            token = again.welcome["token"]  # type: ignore[index]
            server.kill()  # SIGKILL
            killed = time.monotonic()
            watch = asyncio.create_task(placed_at(cluster.nodes[survivor], hid, survivor, killed + 60))
            at = await rejoin(cluster.nodes[survivor], token, killed + 60)
            back.append(at - killed)
            placed.append(await watch - killed)
            print(json.dumps({"round": k + 1, "back_s": round(back[-1], 2), "placed_s": round(placed[-1], 2),
                              "load_avg_1m": load()}), flush=True)
            cluster.start(victim)  # the same node id again, for the next round
            await asyncio.sleep(LEASE_S / 5 * 2)
    finally:
        cluster.stop()
    return {"kills": len(back), "lease_s": LEASE_S, "back_s": summary(back), "placed_s": summary(placed),
            "baseline_reconnect_s": summary(baseline),
            "p95_vs_baseline": round((pct(back, 0.95) or 0) / max(pct(baseline, 0.95) or 1e-3, 1e-3), 1),
            "goal_p95_le_10s": (pct(back, 0.95) or 99) <= 10.0}


async def placed_at(server: Server, hid: str, node_id: str, deadline: float) -> float:
    async with httpx.AsyncClient(base_url=server.base, timeout=5,
                                 headers=registry(server).headers) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                r = await http.get(f"/api/v1/hearings/{hid}/placement")
                if r.status_code == 200 and r.json()["node_id"] == node_id:
                    return time.monotonic()
            await asyncio.sleep(0.05)
    raise TimeoutError("not placed")


# --- placement ----------------------------------------------------------------------------------

def timed_schedules(server: Server, n: int) -> tuple[list[float], list[str]]:
    times, hids = [], []
    with registry(server) as http:
        for i in range(n):
            t0 = time.monotonic()
            r = http.post("/api/v1/hearings", json={**BEIJING_HEARING, "case_number": f"P-{i}"})
            times.append(time.monotonic() - t0)
            hids.append(r.json()["hearing_id"])
    return times, hids


async def placement(root: Path, redis_url: str, n: int) -> dict[str, Any]:
    single = start_server(root / "single", extra_env={"COURTROOM_MEDIA_ONLY": "1"})
    try:
        base, _ = await asyncio.to_thread(timed_schedules, single, n)
    finally:
        single.kill(signal.SIGTERM)
    cluster = Cluster(root / "placement", own_db(redis_url, 15))
    cluster.root.mkdir(parents=True, exist_ok=True)
    nodes = [cluster.start(f"pl-node{i}") for i in range(3)]
    try:
        clustered, hids = await asyncio.to_thread(timed_schedules, nodes[0], n)
        answers = []
        with registry(nodes[1]) as http:
            for hid in hids:
                t0 = time.monotonic()
                http.get(f"/api/v1/hearings/{hid}/placement")
                answers.append(time.monotonic() - t0)
    finally:
        cluster.stop()
    ms = lambda xs: {k: (round(v * 1000, 1) if isinstance(v, float) else v) for k, v in summary(xs).items()}  # noqa: E731
    return {"schedule_ms_clustered": ms(clustered), "schedule_ms_single_node_baseline": ms(base),
            "placement_overhead_ms_p50": round(((pct(clustered, 0.5) or 0) - (pct(base, 0.5) or 0)) * 1000, 1),
            "where_is_ms_other_node": ms(answers), "load_avg_1m": load()}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-nodes", type=int, default=3)
    ap.add_argument("--min-nodes", type=int, default=1, help="skip the capacity runs of fewer nodes")
    ap.add_argument("--max-hearings", type=int, default=4, help="per capacity run")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured window per step")
    ap.add_argument("--warmup", type=float, default=4.0, help="after a hearing is added")
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--placements", type=int, default=30)
    ap.add_argument("--skip", choices=["capacity", "failover", "placement"], action="append", default=[])
    args = ap.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is needed (apt-get install redis-server)")
    print(f"NOTE: nodes and clients share this machine's {os.cpu_count()} cores; load average now {load()}",
          flush=True)
    root = Path(tempfile.mkdtemp(prefix="courtroom-bench-cluster-"))
    redis, redis_url = start_redis(root)
    result: dict[str, Any] = {"cores": os.cpu_count(), "nodes_share_cores_with_clients": True,
                              "media_only_nodes": True, "load_avg_1m_start": load()}
    try:
        if "placement" not in args.skip:
            result["placement"] = await placement(root, redis_url, args.placements)
            print(json.dumps(result["placement"]), flush=True)
        if "failover" not in args.skip:
            result["failover"] = await failover(root, redis_url, args.kills)
            print(json.dumps(result["failover"]), flush=True)
        if "capacity" not in args.skip:
            pcm = noise(2.0)
            audio = (opus_packets(pcm, PTIME_MS), levels_dbov(pcm, 16 * PTIME_MS))
            video = synthetic_video()
            runs = [await capacity(root, redis_url, n, args, audio, video)
                    for n in range(args.min_nodes, args.max_nodes + 1)]
            base = runs[0]["held_at_14fps"]
            result["capacity"] = {"runs": runs, "baseline_1_node": base,
                                  "ratio_vs_1_node": {str(r["nodes"]): round(r["held_at_14fps"] / max(base, 1), 2)
                                                      for r in runs}}
    finally:
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    result["load_avg_1m_end"] = load()
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
