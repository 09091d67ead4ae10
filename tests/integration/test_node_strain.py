"""A node that falls behind says so in the hearings it serves (server/strain.py), for real.

The server runs in this process, on its own thread and event loop (uvicorn, the real app with
its lifespan), so that the test can make that loop really late: it puts 0.4 s sleeps on it,
the way a synchronous call or a starved CPU would. The judge's websocket must then receive
``node_strained`` and, once the loop is left alone, ``node_recovered``; a witness in the
waiting room receives neither; both are in the hearing's log. The watch's figures are
shortened for the test (checks every 0.5 s over a 1 s window).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from court_client import join_invited, read_log, schedule
from in_process import in_process_server

from courtroom.server import strain

pytestmark = [pytest.mark.slow]


def _validate(spec: dict[str, Any], name: str, value: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    jsonschema_rs.validator_for(schema).validate(value)


@pytest.mark.timeout(120)
async def test_the_bench_is_told_when_the_node_falls_behind_and_when_it_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(strain, "CHECK_S", 0.5)
    monkeypatch.setattr(strain, "WINDOW_S", 1.0)
    with in_process_server(tmp_path) as court:
        hid, inv = await asyncio.to_thread(
            schedule, court, {"judge": "judge", "witness": "witness"})  # type: ignore[arg-type]
        judge = await join_invited(court, inv["judge"])  # type: ignore[arg-type]
        witness = await join_invited(court, inv["witness"])  # type: ignore[arg-type]
        wid = inv["witness"]["participant_id"]
        assert (await judge.command("open_hearing"))["ok"]
        assert (await judge.command("admit", participant=wid))["ok"]
        await witness.wait_for(lambda m: m["type"] == "event"
                               and m["event"].get("presence") == "waiting_room")
        await asyncio.sleep(1.5)
        assert not judge.events("node_strained")  # an idle node is not strained

        # 4 s of a loop that stalls 0.4 s every 0.5 s
        stop = time.monotonic() + 4.0
        while time.monotonic() < stop:
            court.stall(0.4)
            await asyncio.sleep(0.5)
        strained = await judge.wait_for(
            lambda m: m["type"] == "event" and m["event"]["type"] == "node_strained", timeout=10)
        assert strained["event"]["lag_p99_ms"] >= 250 and strained["event"]["window_s"] == 1.0
        recovered = await judge.wait_for(
            lambda m: m["type"] == "event" and m["event"]["type"] == "node_recovered", timeout=15)
        assert recovered["event"]["worst_lag_p99_ms"] >= strained["event"]["lag_p99_ms"]
        assert recovered["event"]["strained_s"] > 0
        # as a client author reads them: /openapi.json's schemas (docs/protocol.md's tables)
        spec = (await asyncio.to_thread(httpx.get, f"{court.base}/openapi.json")).json()
        for message in (strained, recovered):
            _validate(spec, "server_event", message)
            payload = {k: v for k, v in message["event"].items() if k != "type"}
            _validate(spec, "event_" + message["event"]["type"], payload)
        await asyncio.sleep(0.5)
        seen_by_witness = {m["event"]["type"] for m in witness.received if m["type"] == "event"}
        assert not seen_by_witness & {"node_strained", "node_recovered"}, seen_by_witness
        log: list[dict[str, Any]] = await asyncio.to_thread(read_log, court, hid)  # type: ignore[arg-type]
        kinds = [e["event"]["type"] for e in log if e["event"]["type"].startswith("node_")]
        assert kinds == ["node_strained", "node_recovered"], kinds
        await judge.close()
        await witness.close()
