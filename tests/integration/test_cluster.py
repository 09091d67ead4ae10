"""Several nodes over a real redis-server: placement, redirect, failover after kill -9.

Nodes share one SQLite file here (PostgreSQL in test_cluster_postgres); the lease is short
(``LEASE_S``) so that a failover takes seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from court_client import Client, Server, read_log, registry, schedule, start_server, token_for
from websockets.asyncio.client import connect

from courtroom.server.placement import Placement
from tests.conftest import free_port

LEASE_S = 2.0


def _node(data: Path, redis_url: str, name: str, extra: dict[str, str] | None = None) -> Server:
    port = free_port()
    env = {
        "COURTROOM_REDIS_URL": redis_url,
        "COURTROOM_NODE_URL": f"http://127.0.0.1:{port}",
        "COURTROOM_NODE_ID": name,
        "COURTROOM_LEASE_TTL_S": str(LEASE_S),
        **(extra or {}),
    }
    return start_server(data, extra_env=env, args=["--port", str(port)])


def _placement(server: Server, hid: str) -> dict[str, Any]:
    with registry(server) as http:
        r = http.get(f"/api/v1/hearings/{hid}/placement")
        assert r.status_code == 200, r.text
        return dict(r.json())


async def test_concurrent_placement_never_gives_two_owners(redis_url: str) -> None:
    nodes = [Placement(redis_url, f"race-{i}", f"http://n{i}", lease_ttl_s=5) for i in range(6)]
    try:
        for node in nodes:
            await node.beat()
        hearings = [f"h-race-{n}" for n in range(40)]
        tries = [node.acquire(h) for h in hearings for node in nodes]
        tries += [node.locate(h) for h in hearings for node in nodes]  # type: ignore[misc]
        results = await asyncio.gather(*tries)
        won = results[: len(hearings) * len(nodes)]
        for i, h in enumerate(hearings):
            winners = [n for j, n in enumerate(nodes) if won[i * len(nodes) + j]]
            assert len(winners) == 1, (h, [w.node_id for w in winners])
            holders = [n.node_id for n in nodes if n.holds(h)]
            assert holders == [winners[0].node_id]
            owners = {await n.owner(h) for n in nodes}
            assert owners == {winners[0].node_id}
    finally:
        for node in nodes:  # leave no dead node behind for the next tests' sweeps
            await node.redis.delete(f"courtroom:held:{node.node_id}")
            await node.redis.srem("courtroom:nodes", node.node_id)
            await node.close()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
async def test_placement_redirect_and_failover_after_kill_9(
    tmp_path: Path, redis_url: str, store: str, request: pytest.FixtureRequest
) -> None:
    db = {}
    if store == "postgres":
        db = {"COURTROOM_DATABASE_URL": request.getfixturevalue("fresh_postgres_url")}
    a = _node(tmp_path / "a", redis_url, f"node-a-{store}", db)
    b = _node(tmp_path / "b" if db else tmp_path / "a", redis_url, f"node-b-{store}", db)
    try:
        roles = {"judge": "judge", "plaintiff": "plaintiff", "witness": "witness"}
        hid, inv = schedule(a, roles)  # scheduled on A, so held by A; invites on A too
        # Every node answers alike.
        on_a, on_b = _placement(a, hid), _placement(b, hid)
        assert on_a["node_id"] == on_b["node_id"] == f"node-a-{store}"
        assert on_a["ws_url"] == on_b["ws_url"] == a.ws_url
        assert (on_a["answered_by"], on_b["answered_by"]) == (f"node-a-{store}", f"node-b-{store}")
        # REST writes on the other node are forwarded to the owner.
        with registry(b) as http:
            r = http.post(f"/api/v1/hearings/{hid}/participants",
                          json={"role": "observer", "display_name": "旁听"})
            assert r.status_code == 201, r.text
        # A websocket at the wrong node is redirected, before its token is spent.
        judge_token = token_for(b, inv["judge"])
        wrong = await Client.join(b, judge_token, expect_welcome=False)
        redirect = await wrong.wait_for(lambda m: m["type"] == "redirect")
        assert redirect["url"] == a.ws_url and redirect["node"] == f"node-a-{store}"
        assert (await wrong.closed())[0] == 4307
        judge = await Client.join(a, judge_token)
        assert judge.welcome and judge.welcome["type"] == "welcome"
        party = await Client.join(a, token_for(a, inv["plaintiff"]))
        witness = await Client.join(a, token_for(a, inv["witness"]))
        wid, pid = inv["witness"]["participant_id"], inv["plaintiff"]["participant_id"]
        assert (await judge.command("open_hearing"))["ok"]
        assert (await judge.command("admit", participant=pid))["ok"]
        assert (await judge.command("admit", participant=wid))["ok"]
        assert (await judge.command("change_phase", to="investigation"))["ok"]
        assert witness.presence(wid) == "waiting_room"
        before = len(read_log(a, hid))

        a.kill()  # SIGKILL: A's lease is left to expire
        killed = time.monotonic()
        owner = None
        while time.monotonic() - killed < 20:
            owner = _placement(b, hid)
            if owner["node_id"] == f"node-b-{store}":
                break
            await asyncio.sleep(0.2)
        assert owner is not None and owner["node_id"] == f"node-b-{store}", owner
        placed_s = time.monotonic() - killed
        # Clients reconnect with their latest tokens, at B now.
        judge2 = await Client.join(b, judge.welcome["token"])
        witness2 = await Client.join(b, witness.welcome["token"])  # type: ignore[index]
        back_s = time.monotonic() - killed
        print(f"failover ({store}): placed after {placed_s:.2f} s, clients back after {back_s:.2f} s")
        assert judge2.welcome and judge2.welcome["type"] == "welcome"
        assert witness2.welcome and witness2.welcome["type"] == "welcome"
        assert witness2.presence(wid) == "waiting_room"
        assert judge2.last_state()["hearing"]["phase"] == "investigation"
        assert (await judge2.command("change_phase", to="evidence"))["ok"]
        await judge2.wait_for(lambda m: m["type"] == "state"
                              and m["state"]["hearing"]["phase"] == "evidence")
        await asyncio.sleep(0.5)
        # The waiting witness saw nothing of the hearing, before, during or after the move.
        for client in (witness, witness2):
            for event in client.events():
                assert event.get("participant") == wid or event["type"] == "phase_changed", event
            assert not client.events("hearing_moved")
        entries = read_log(b, hid)
        assert entries[:before] == read_log(b, hid)[:before]
        moved = [e["event"] for e in entries if e["event"]["type"] == "hearing_moved"]
        assert len(moved) == 1 and moved[0]["from_node"] == f"node-a-{store}"
        assert moved[0]["to_node"] == f"node-b-{store}" and moved[0]["gap_s"] > 0
        lost = [e["event"]["participant"] for e in entries
                if e["event"]["type"] == "participant_disconnected"
                and e["event"]["reason"] == "node lost"]
        assert set(lost) == {inv[n]["participant_id"] for n in ("judge", "plaintiff", "witness")}
        with registry(b) as http:
            assert http.get(f"/api/v1/hearings/{hid}/log/verify").json()["ok"]
        await party.close()
    finally:
        a.kill()
        b.kill()


async def test_drain_moves_hearings_and_clients_follow(tmp_path: Path, redis_url: str) -> None:
    a = _node(tmp_path, redis_url, "drain-a")
    b = _node(tmp_path, redis_url, "drain-b")
    try:
        hid, inv = schedule(a, {"judge": "judge"})
        judge = await Client.join(a, token_for(a, inv["judge"]))
        with registry(a) as http:
            r = http.post("/api/v1/nodes/self/drain")
            assert r.status_code == 200 and hid in r.json()["moved"], r.text  # (and strays)
        assert (await judge.closed())[0] == 4503
        assert _placement(b, hid)["node_id"] == "drain-b"
        assert _placement(a, hid)["node_id"] == "drain-b"
        # Reconnecting where it started (A), the client is sent on to B.
        token = judge.welcome["token"]  # type: ignore[index]
        async with connect(a.ws_url) as ws:
            await ws.send(json.dumps({"v": 1, "type": "hello", "token": token}))
            assert '"redirect"' in str(await ws.recv())
        judge2 = await Client.join(b, token)
        assert judge2.welcome and judge2.welcome["type"] == "welcome"
        with registry(a) as http:  # a drained node has new hearings scheduled elsewhere
            r = http.post("/api/v1/hearings", json={"case_number": "1", "court": "c",
                          "language": "zh", "scheduled_for": "2026-11-23T09:00:00+08:00"})
            assert r.status_code == 201, r.text
        assert _placement(a, r.json()["hearing_id"])["node_id"] == "drain-b"
    finally:
        a.kill()
        b.kill()


@pytest.mark.parametrize("n", [1])
def test_unclustered_server_has_no_placement(tmp_path: Path, n: int) -> None:
    server = start_server(tmp_path)
    try:
        with registry(server) as http:
            hid = http.post("/api/v1/hearings", json={"case_number": "1", "court": "c",
                            "language": "zh", "scheduled_for": "2026-11-23T09:00:00+08:00"}).json()
            r = http.get(f"/api/v1/hearings/{hid['hearing_id']}/placement")
            assert r.status_code == 404 and r.json()["error"] == "not_clustered"
        assert httpx.get(f"{server.base}/healthz").status_code == 200
    finally:
        server.kill()
