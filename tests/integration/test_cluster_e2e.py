"""The court's deployment as one system (issue 14): ``scripts/cluster up 3`` starts PostgreSQL,
Redis, coturn, Caddy with its internal CA and three nodes; six hearings (judge, plaintiff and a
waiting witness each, real aiortc clients) are spread over the nodes; the node holding the
first hearing is killed with SIGKILL. Checked: every participant of the moved hearings is back
with media (p50/p95 printed; the only bound is a generous one), the waiting witnesses received
0 hearing packets before, during and after the move, ``courtroom verify-log all`` passes, and
the moved hearing's recording decodes on both sides of its logged gap.

Light on purpose, for 2 shared cores: 160x120 video, vision at 0.2 fps, Mandarin hearings (no
speech model here, so no live ASR). The aiortc clients reach the nodes on loopback directly
(``COURTROOM_ICE_LOOPBACK_ONLY=1``), not through Caddy. A Chromium phone over HTTPS through Caddy,
relay-only through coturn, and kill -9 of the node holding its hearing is
tests/e2e/test_cluster_phone_relay.py (two nodes, the 5 s lease): kept apart so that a browser
does not add to this test's load on 2 shared cores.
"""

from __future__ import annotations

import asyncio
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

import av
import pytest
from court_client import (
    REGISTRY_KEY,
    REPO,
    Client,
    Server,
    media_for,
    read_log,
    registry,
    schedule,
    token_for,
)
from media_clients import LoopbackClient

SEGMENT_S = 10.0
ROLES = {"judge": "judge", "plaintiff": "plaintiff", "witness": "witness"}


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _node_base(port: int) -> int:
    """A base port with base+1..base+3 free."""
    for _ in range(50):
        (base,) = _free_ports(1)
        base -= 10
        ok = True
        for k in (1, 2, 3):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + k))
                except OSError:
                    ok = False
        if ok and base + 3 != port:
            return base
    raise RuntimeError("no free ports")


class Topology:
    def __init__(self) -> None:
        # Not under pytest's tmp dir (0700, root's): scripts/cluster runs PostgreSQL as postgres.
        self.dir = Path(tempfile.mkdtemp(prefix="courtroom-cluster-e2e-"))
        self.dir.chmod(0o755)
        (self.dir / "registry.key").write_text(REGISTRY_KEY)  # scripts/cluster keeps a given key
        https, pg, redis, turn = _free_ports(4)
        self.node_port = _node_base(https)
        self.env = {
            **os.environ,
            "COURTROOM_CLUSTER_DIR": str(self.dir),
            "CLUSTER_HTTPS_PORT": str(https), "CLUSTER_NODE_PORT": str(self.node_port),
            "CLUSTER_PG_PORT": str(pg), "CLUSTER_REDIS_PORT": str(redis), "CLUSTER_TURN_PORT": str(turn),
            "COURTROOM_ICE_LOOPBACK_ONLY": "1", "COURTROOM_VISION_FPS": "0.2",
            # 10 s, not the default 5 s: at load average 39 on these 2 shared cores, nodes
            # starved for over 5 s lost hearings they were serving (a move nobody asked for).
            # (CLUSTER_E2E_LEASE_S measures another lease on a quieter machine.)
            "COURTROOM_LEASE_TTL_S": os.environ.get("CLUSTER_E2E_LEASE_S", "10"),
            "PYTHON": sys.executable,
        }
        self.database_url = f"postgresql+psycopg://postgres@127.0.0.1:{pg}/courtroom"

    def run(self, *args: str, timeout: float = 240) -> str:
        r = subprocess.run([str(REPO / "scripts" / "cluster"), *args], env=self.env, cwd=REPO,
                           capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    def node(self, k: int) -> Server:
        return Server(None, f"http://127.0.0.1:{self.node_port + k}")  # type: ignore[arg-type]

    def kill(self, k: int) -> None:
        os.kill(int((self.dir / f"node{k}.pid").read_text()), signal.SIGKILL)


async def _hearing_packets_to(peer: LoopbackClient) -> int:
    return sum(n for (_, _, link), n in (await peer.inbound_by_route()).items() if link == "hearing")


async def _media_flows(peer: LoopbackClient, source: str, deadline: float) -> float:
    start = (await peer.inbound_by_route()).get((source, "video", "hearing"), 0)
    while time.monotonic() < deadline:
        if (await peer.inbound_by_route()).get((source, "video", "hearing"), 0) > start:
            return time.monotonic()
        await asyncio.sleep(0.1)
    raise AssertionError("no media")


class Hearing:
    def __init__(self, hid: str, inv: dict[str, dict[str, Any]], node: int) -> None:
        self.hid, self.inv, self.node = hid, inv, node
        self.ids = {name: inv[name]["participant_id"] for name in inv}
        self.ws: dict[str, Client] = {}
        self.peers: dict[str, LoopbackClient] = {}

    async def join(self, server: Server, tokens: dict[str, str] | None = None) -> None:
        for name in ROLES:
            token = tokens[name] if tokens else await asyncio.to_thread(token_for, server, self.inv[name])
            client = await Client.join(server, token)
            assert client.welcome and client.welcome["type"] == "welcome", (name, client.welcome)
            self.ws[name] = client
        if tokens is None:
            judge = self.ws["judge"]
            assert (await judge.command("open_hearing"))["ok"]
            assert (await judge.command("admit", participant=self.ids["plaintiff"]))["ok"]
            assert (await judge.command("admit", participant=self.ids["witness"]))["ok"]
        for name in ROLES:  # one after the other: the test clients' loopback ICE is global
            # The waiting witness publishes nothing here (lighter); it still subscribes, and
            # must receive nothing of the hearing.
            sends = name != "witness"
            self.peers[name] = await media_for(self.ws[name], self.ids[name], width=160, height=120,
                                               video=sends, audio=sends, connect_timeout=60)

    async def close(self) -> None:
        for peer in self.peers.values():
            await peer.close()
        for client in self.ws.values():
            await client.close()


def _where(server: Server, hid: str) -> Any:
    with registry(server) as http:
        return http.get(f"/api/v1/hearings/{hid}/placement")


async def _rejoin(topo: Topology, h: Hearing, survivors: list[int], killed: float) -> dict[str, float]:
    """Reconnect the way the browser does (any live node, follow the redirect), then media."""
    tokens = {name: h.ws[name].welcome["token"] for name in ROLES}  # type: ignore[index]
    for peer in h.peers.values():
        await peer.close()
    deadline = killed + 90
    owner = None
    while owner is None and time.monotonic() < deadline:
        r = await asyncio.to_thread(_where, topo.node(survivors[0]), h.hid)
        if r.status_code == 200 and r.json()["node_id"] in {f"node{k}" for k in survivors}:
            owner = int(r.json()["node_id"].removeprefix("node"))
        else:
            await asyncio.sleep(0.5)
    assert owner is not None, "the hearing was not placed on a surviving node"
    await h.join(topo.node(owner), tokens)
    back = {}
    back["judge"] = await _media_flows(h.peers["judge"], h.ids["plaintiff"], deadline) - killed
    back["plaintiff"] = await _media_flows(h.peers["plaintiff"], h.ids["judge"], deadline) - killed
    await h.peers["witness"].wait_connected(30)
    back["witness"] = time.monotonic() - killed
    h.node = owner
    return back


def _decodes(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams[0]))


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(q * len(s)))], 2)


@pytest.mark.timeout(900)
async def test_three_nodes_six_hearings_kill_9_and_everyone_is_back(tmp_path: Path) -> None:
    topo = Topology()
    hearings: list[Hearing] = []
    try:
        topo.run("up", "3", timeout=400)
        for i in range(6):
            node = 1 + i % 3  # a hearing is placed on the node that schedules it
            hid, inv = await asyncio.to_thread(schedule, topo.node(node), ROLES)
            h = Hearing(hid, inv, node)
            await h.join(topo.node(node))
            hearings.append(h)
        with registry(topo.node(1)) as http:  # any node answers where each hearing is
            for h in hearings:
                h.node = int(http.get(f"/api/v1/hearings/{h.hid}/placement").json()["node_id"][4:])
        owners = [h.node for h in hearings]
        print("hearings per node:", {k: owners.count(k) for k in (1, 2, 3)})
        assert set(owners) == {1, 2, 3}, owners  # spread over the nodes

        victim = hearings[0].node
        moved = [h for h in hearings if h.node == victim]
        # Every track records a first segment, so the recording has something before the gap.
        await asyncio.sleep(SEGMENT_S + 3)
        for h in hearings:
            assert await _hearing_packets_to(h.peers["witness"]) == 0  # before
        topo.kill(victim)
        killed = time.monotonic()
        survivors = [k for k in (1, 2, 3) if k != victim]
        # The moved hearings' participants come back at once, as their browsers would.
        backs = list(await asyncio.gather(*(_rejoin(topo, h, survivors, killed) for h in moved)))
        times = [t for b in backs for t in b.values()]
        print(f"back with media after kill -9 (s, lease {topo.env['COURTROOM_LEASE_TTL_S']} s): p50 {_pct(times, 0.5)}, p95 {_pct(times, 0.95)}, "
              f"max {max(times):.2f}, n {len(times)}: {backs}")
        assert max(times) < 90  # generous: the time is reported, not asserted

        await asyncio.sleep(SEGMENT_S + 3)  # the new node finishes a segment per track
        for h in hearings:  # during and after the move
            assert await _hearing_packets_to(h.peers["witness"]) == 0, h.hid
            with registry(topo.node(survivors[0])) as http:
                routes = http.get(f"/api/v1/hearings/{h.hid}/media").json()["routes"]
            to_witness = [r for r in routes if r["destination"] == h.ids["witness"] and r["link"] == "hearing"]
            assert sum(r["packets"] for r in to_witness) == 0, to_witness

        # The moved hearing's recording plays across its logged gap.
        h = moved[0]
        entries = [e["event"] for e in read_log(topo.node(survivors[0]), h.hid)]
        at = max(i for i, e in enumerate(entries) if e["type"] == "hearing_moved")
        judge_video = (h.ids["judge"], "video")
        before = [e for e in entries[:at] if e["type"] == "recording_finished"
                  and (e["participant"], e["kind"]) == judge_video]
        after = [e for e in entries[at:] if e["type"] == "recording_finished"
                 and (e["participant"], e["kind"]) == judge_video]
        gaps = [e for e in entries[at:] if e["type"] == "media_gap" and (e["participant"], e["kind"]) == judge_video]
        assert before and after and gaps, (len(before), len(after), gaps)
        assert gaps[0]["t0"] == before[-1]["end"] and gaps[0]["t1"] == after[0]["start"]
        old_file = topo.dir / f"node{victim}" / "recordings" / h.hid / before[-1]["file"]
        new_file = topo.dir / f"node{h.node}" / "recordings" / h.hid / after[0]["file"]
        assert _decodes(old_file) > 0 and _decodes(new_file) > 0

        verify = subprocess.run([sys.executable, "-m", "courtroom.cli", "verify-log", "all"], cwd=REPO,
                                env={**os.environ, "COURTROOM_DATABASE_URL": topo.database_url,
                                     "COURTROOM_DATA_DIR": str(tmp_path / "verify")},
                                capture_output=True, text=True, timeout=120)
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        for h in hearings:
            await h.close()
        topo.run("down", timeout=120)
        shutil.rmtree(topo.dir, ignore_errors=True)
