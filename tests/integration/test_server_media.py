"""Isolation through the whole stack: real aiortc clients signalling over the hearing
websocket to a real server, which forwards only what the hearing's log allows."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from court_client import (
    Client,
    grows,
    media_for,
    registry,
    route_counters,
    running_server,
    schedule,
    token_for,
)


@pytest.mark.timeout(120)
async def test_waiting_witness_gets_no_hearing_media_while_supervised(tmp_path: Path) -> None:
    with running_server(tmp_path, args=["--ice-loopback-only"]) as server:
        hid, inv = schedule(server, {"judge": "judge", "clerk": "clerk", "plaintiff": "plaintiff", "witness": "witness"})
        ids = {name: inv[name]["participant_id"] for name in inv}
        ws = {name: await Client.join(server, token_for(server, inv[name])) for name in inv}
        judge = ws["judge"]
        assert (await judge.command("open_hearing"))["ok"]
        assert (await judge.command("admit", participant=ids["plaintiff"]))["ok"]
        assert (await judge.command("admit", participant=ids["witness"]))["ok"]
        peers = {name: await media_for(ws[name], ids[name]) for name in inv}
        await asyncio.sleep(2.0)
        witness = peers["witness"]

        # Supervision works both ways while the witness waits...
        assert await grows(witness, (ids["clerk"], "video", "supervision"))
        assert await grows(peers["clerk"], (ids["witness"], "audio", "supervision"))
        # ...and nothing of the hearing reaches the witness: not offered, not sent, not received.
        hearing_in = {k: v for k, v in (await witness.inbound_by_route()).items() if k[2] == "hearing"}
        assert sum(hearing_in.values()) == 0, hearing_in
        sent = route_counters(server, hid)
        assert sum(n for (s, k, d, link), n in sent.items() if d == ids["witness"] and link == "hearing") == 0
        assert sent[(ids["plaintiff"], "video", ids["judge"], "hearing")] > 0

        # Called in: the witness hears the party, within a second or so.
        t0 = time.monotonic()
        assert (await judge.command("call_in", participant=ids["witness"]))["ok"]
        assert await grows(witness, (ids["plaintiff"], "audio", "hearing"), within=5)
        assert time.monotonic() - t0 < 5

        # Sent back: hearing media stops reaching the witness.
        assert (await judge.command("send_back", participant=ids["witness"]))["ok"]
        await asyncio.sleep(0.5)
        before = route_counters(server, hid)
        await asyncio.sleep(1.0)
        after = route_counters(server, hid)
        to_witness = [k for k in after if k[2] == ids["witness"] and k[3] == "hearing"]
        assert to_witness and all(after[k] == before.get(k) for k in to_witness), "forwarding must stop at send-back"

        # The judge cuts the party's audio: the judge stops receiving it, video keeps flowing.
        assert (await judge.command("cut_media", participant=ids["plaintiff"], kind="audio"))["ok"]
        await asyncio.sleep(0.5)
        before = route_counters(server, hid)
        await asyncio.sleep(1.0)
        after = route_counters(server, hid)
        key_a = (ids["plaintiff"], "audio", ids["judge"], "hearing")
        key_v = (ids["plaintiff"], "video", ids["judge"], "hearing")
        assert after[key_a] == before[key_a] and after[key_v] > before[key_v]

        # The judge sees connection quality.
        stats = await judge.wait_for(lambda m: m["type"] == "media_stats", 10)
        assert set(stats["stats"]) >= {ids["plaintiff"], ids["witness"]}
        for p in peers.values():
            p._pump.cancel()  # type: ignore[attr-defined]
            await p.close()
        for c in ws.values():
            await c.close()


@pytest.mark.timeout(120)
async def test_recordings_are_logged_with_their_hashes(tmp_path: Path) -> None:
    with running_server(tmp_path, args=["--ice-loopback-only"]) as server:
        hid, inv = schedule(server, {"judge": "judge"})
        judge = await Client.join(server, token_for(server, inv["judge"]))
        peer = await media_for(judge, inv["judge"]["participant_id"])
        await asyncio.sleep(1.5)
        peer._pump.cancel()  # type: ignore[attr-defined]
        await peer.close()
        await judge.close()
        server.kill(15)  # a clean stop finalises the open segments
        server = None  # type: ignore[assignment]
    with running_server(tmp_path) as server:
        with registry(server) as http:
            log = http.get(f"/api/v1/hearings/{hid}/log").json()["entries"]
        files = [e["event"] for e in log if e["event"]["type"] == "recording_finished"]
        assert {f["kind"] for f in files} == {"audio", "video"}
        import hashlib

        for f in files:
            path = tmp_path / "recordings" / hid / f["file"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == f["sha256"]
