"""The court's deployment as one system (issue 14): ``scripts/cluster up 3`` starts PostgreSQL,
Redis, coturn, Caddy with its internal CA and three nodes; six hearings (judge, plaintiff and a
waiting witness each) are spread over the nodes. The first hearing's plaintiff is a Chromium
phone (emulated Pixel 7, fake camera and microphone) joining from its ``https://`` link through
Caddy, relay-only through coturn (the court's ``COURTROOM_ICE_TRANSPORT_POLICY=relay``); every
other participant is a real aiortc client reaching its node on loopback directly
(``COURTROOM_ICE_LOOPBACK_ONLY=1``, no ICE servers). The node holding the phone's hearing is
killed with SIGKILL. Checked: every participant of the moved hearings is back with media (p50/p95
printed; the phone's time on its own clock, see cluster_phone.py; the only bound is a generous
one), the phone again over a relay candidate, the waiting witnesses received 0 hearing packets
before, during and after the move, ``courtroom verify-log all`` passes, and the moved hearing's
recording decodes on both sides of its logged gap.

Light on purpose, for 2 shared cores: 160x120 video from the aiortc clients, vision at 0.2 fps,
Mandarin hearings (no speech model here, so no live ASR), the product's 5 s lease.
``CLUSTER_E2E_KEEP=<dir>`` keeps the nodes' logs (``COURTROOM_LOG_FORMAT=json`` for INFO lines).
tests/e2e/test_cluster_phone_relay.py is the two-node version with the page's ``?relay=1``.
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
from cluster_phone import (
    CHROMIUM,
    FLAGS,
    PHONE_DEVICE,
    phone_joins,
    relayed_frames,
    returned,
    turn_allocated,
    watch_return,
)
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
from playwright.async_api import async_playwright

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
            # The product's 5 s lease. (At load average 39 on these 2 shared cores, nodes starved
            # for over 4 s lost hearings they were serving; CLUSTER_E2E_LEASE_S sets another.)
            "COURTROOM_LEASE_TTL_S": os.environ.get("CLUSTER_E2E_LEASE_S", "5"),
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
    def __init__(self, hid: str, inv: dict[str, dict[str, Any]], node: int, phone: Any = None) -> None:
        self.hid, self.inv, self.node = hid, inv, node
        self.ids = {name: inv[name]["participant_id"] for name in inv}
        self.ws: dict[str, Client] = {}
        self.peers: dict[str, LoopbackClient] = {}
        self.phone = phone  # a Playwright page: this hearing's plaintiff joins from Chromium
        self.phone_peer = 0  # the page's peer before the move (iceRoute().peer)
        self.aiortc = [n for n in ROLES if not (phone is not None and n == "plaintiff")]

    async def join(self, server: Server, tokens: dict[str, str] | None = None) -> None:
        for name in self.aiortc:
            token = tokens[name] if tokens else await asyncio.to_thread(token_for, server, self.inv[name])
            client = await Client.join(server, token)
            assert client.welcome and client.welcome["type"] == "welcome", (name, client.welcome)
            self.ws[name] = client
        if tokens is None:
            if self.phone is not None:
                await phone_joins(self.phone, self.inv["plaintiff"])
            judge = self.ws["judge"]
            assert (await judge.command("open_hearing"))["ok"]
            assert (await judge.command("admit", participant=self.ids["plaintiff"]))["ok"]
            assert (await judge.command("admit", participant=self.ids["witness"]))["ok"]
        for name in self.aiortc:  # one after the other: the test clients' loopback ICE is global
            # The waiting witness publishes nothing here (lighter); it still subscribes, and
            # must receive nothing of the hearing. The others publish video only: this process
            # hosts 17 peers, and when it starved (load average 7-10 from other work on the 2
            # cores) their ICE consent expired before the kill. The phone sends audio and video.
            sends = name != "witness"
            self.peers[name] = await media_for(self.ws[name], self.ids[name], width=160, height=120,
                                               video=sends, audio=False, connect_timeout=60)

    async def close(self) -> None:
        for peer in self.peers.values():
            await peer.close()
        for client in self.ws.values():
            await client.close()


def _where(server: Server, hid: str) -> Any:
    with registry(server) as http:
        return http.get(f"/api/v1/hearings/{hid}/placement")


async def _rejoin(topo: Topology, h: Hearing, survivors: list[int], killed: float,
                  killed_wall: float) -> dict[str, float]:
    """Reconnect the way the browser does (any live node, follow the redirect), then media."""
    tokens = {name: h.ws[name].welcome["token"] for name in h.aiortc}  # type: ignore[index]
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
    await h.peers["witness"].wait_connected(30)
    back["witness"] = time.monotonic() - killed
    if h.phone is not None:  # the page reconnected on its own: its new peer, over relay
        at, route = await returned(h.phone, deadline)
        back["plaintiff"] = at - killed_wall  # on the page's own clock (cluster_phone.py)
        assert route["policy"] == "relay" and route["local"] == "relay", route
    else:
        back["plaintiff"] = await _media_flows(h.peers["plaintiff"], h.ids["judge"], deadline) - killed
    h.node = owner
    return back


def _trace_ws(ws: Any, out: list[str]) -> None:
    """Each websocket the page opens, and what the server said on it besides media chatter."""
    out.append(f"{time.monotonic():.1f} ws open {ws.url}")
    ws.on("close", lambda _w: out.append(f"{time.monotonic():.1f} ws closed {ws.url}"))

    def frame(payload: Any) -> None:
        text = payload if isinstance(payload, str) else ""
        if '"redirect"' in text or '"welcome"' in text or '"error"' in text or '"refused"' in text:
            out.append(f"{time.monotonic():.1f} ws got {text[:160]}")

    ws.on("framereceived", frame)


def _decodes(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams[0]))


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(q * len(s)))], 2)


@pytest.mark.timeout(900)
async def test_three_nodes_six_hearings_kill_9_and_everyone_is_back(tmp_path: Path) -> None:
    topo = Topology()
    # The court wants relay only: the Chromium phone obeys; aiortc clients on loopback use no
    # ICE servers (docs/protocol.md, "A non-browser client").
    topo.env["COURTROOM_ICE_TRANSPORT_POLICY"] = "relay"
    hearings: list[Hearing] = []
    console: list[str] = []
    pw = await async_playwright().start()
    browser = None
    try:
        topo.run("up", "3", timeout=400)
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS,
                                           timeout=30_000)
        # Caddy's internal CA is not in this browser's trust store (a phone installs the root).
        ctx = await browser.new_context(**pw.devices[PHONE_DEVICE], locale="zh-CN",
                                        ignore_https_errors=True)
        for i in range(6):
            node = 1 + i % 3  # a hearing is placed on the node that schedules it
            hid, inv = await asyncio.to_thread(schedule, topo.node(node), ROLES)
            # the first hearing's plaintiff is a Chromium phone, and its node is the one killed
            h = Hearing(hid, inv, node, phone=await ctx.new_page() if i == 0 else None)
            if h.phone is not None:  # the page's console, printed with the figures
                h.phone.on("console", lambda m: console.append(f"{time.monotonic():.1f} {m.text}"))
                h.phone.on("websocket", lambda w: _trace_ws(w, console))
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
        phone = hearings[0]
        before = await relayed_frames(phone.phone, 0, time.monotonic() + 60)
        phone.phone_peer = before["peer"]
        try:
            await _media_flows(phone.peers["judge"], phone.ids["plaintiff"], time.monotonic() + 60)
        except AssertionError:  # e.g. the judge's ICE consent expired (a starved test process)
            with registry(topo.node(victim)) as http:
                print("routes:", http.get(f"/api/v1/hearings/{phone.hid}/media").json())
            raise
        assert await turn_allocated(topo.dir, phone.ids["plaintiff"], time.monotonic() + 20)
        print("phone before the kill:", before)
        # Every track records a first segment, so the recording has something before the gap.
        await asyncio.sleep(SEGMENT_S + 3)
        for h in hearings:
            assert await _hearing_packets_to(h.peers["witness"]) == 0  # before
        await watch_return(phone.phone, phone.phone_peer)
        topo.kill(victim)
        killed, killed_wall = time.monotonic(), time.time()
        survivors = [k for k in (1, 2, 3) if k != victim]
        # The moved hearings' participants come back at once, as their browsers would.
        backs = list(await asyncio.gather(*(_rejoin(topo, h, survivors, killed, killed_wall) for h in moved)))
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
        print("the phone's console and websockets:", *console, sep="\n  ")
        for h in hearings:
            await h.close()
        if browser is not None:
            await browser.close()
        await pw.stop()
        topo.run("down", timeout=120)
        if os.environ.get("CLUSTER_E2E_KEEP"):  # the nodes' logs, for a post-mortem
            shutil.copytree(topo.dir, os.environ["CLUSTER_E2E_KEEP"], dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("pg", "caddy*", "recordings"))
        shutil.rmtree(topo.dir, ignore_errors=True)
