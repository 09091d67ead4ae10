"""A client written from docs/protocol.md and /openapi.json alone.

Nothing here imports courtroom.*: the server is started as a program (``python -m courtroom.cli
serve``), and everything else is plain HTTP and websocket traffic, checked against the JSON
Schemas the server publishes at /openapi.json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from websockets.asyncio.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[2]
REGISTRY_KEY = "outsider-registry-key-0123456789abcdef012345"


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "COURTROOM_DATA_DIR": str(tmp_path),
        "COURTROOM_REGISTRY_KEY": REGISTRY_KEY,
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [
        sys.executable,
        "-m",
        "courtroom.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--ice-loopback-only",
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    url = None
    while time.monotonic() < deadline and url is None:
        line = proc.stdout.readline()
        if not line:
            break
        if m := re.search(r"running on (http://127\.0\.0\.1:\d+)", line):
            url = m.group(1)
    assert url, "server did not start"
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


class Spec:
    """/openapi.json, and validators for its component schemas."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def validate(self, name: str, value: Any) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": self.doc["components"]}
        jsonschema_rs.validator_for(schema).validate(value)

    def answer_schema(self, method: str, path: str, status: int) -> str:
        content = self.doc["paths"][path][method]["responses"][str(status)]["content"]
        return str(content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1])


class Socket:
    def __init__(self, ws: ClientConnection, spec: Spec) -> None:
        self.ws, self.spec, self.seen = ws, spec, []  # type: list[dict[str, Any]]
        self.n = 0

    async def send(self, msg: dict[str, Any]) -> None:
        self.spec.validate(msg["type"], msg)  # what the docs say a client sends
        await self.ws.send(json.dumps(msg))

    async def until(self, pred: Any, timeout: float = 10) -> dict[str, Any]:
        end = time.monotonic() + timeout
        for m in self.seen:
            if pred(m):
                return m
        while True:
            raw = await __import__("asyncio").wait_for(self.ws.recv(), end - time.monotonic())
            m = json.loads(raw)
            assert m["v"] == 1
            self.spec.validate("server_" + m["type"], m)  # what the docs say we receive
            self.seen.append(m)
            if pred(m):
                return m

    async def command(self, name: str, **args: Any) -> dict[str, Any]:
        self.n += 1
        mid = f"c{self.n}"
        self.spec.validate(f"command_{name}", args)
        await self.send({"v": 1, "type": "command", "id": mid, "name": name, "args": args})
        return await self.until(lambda m: m["type"] == "result" and m["id"] == mid)


async def test_a_hearing_driven_from_the_docs_alone(base_url: str) -> None:
    http = httpx.Client(base_url=base_url, timeout=10)
    spec = Spec(http.get("/openapi.json").json())
    reg = {"Authorization": f"Bearer {REGISTRY_KEY}"}

    body = {
        "case_number": "(2026)沪0101民初1号",
        "title": "合同纠纷",
        "court": "上海市黄浦区人民法院",
        "language": "zh",
        "scheduled_for": "2026-11-23T09:00:00+08:00",
    }
    spec.validate("ScheduleBody", body)
    r = http.post("/api/v1/hearings", json=body, headers=reg)
    assert r.status_code == 201, r.text
    spec.validate(spec.answer_schema("post", "/api/v1/hearings", 201), r.json())
    hid = r.json()["hearing_id"]

    people = {}
    for name, role in (("审判员", "judge"), ("原告", "plaintiff")):
        r = http.post(
            f"/api/v1/hearings/{hid}/participants",
            headers=reg,
            json={"role": role, "display_name": name},
        )
        assert r.status_code == 201, r.text
        spec.validate("Invitation", r.json())
        people[role] = r.json()

    tokens = {}
    for role, inv in people.items():
        r = http.post(
            "/api/v1/sessions",
            json={"hearing_id": hid, "participant_id": inv["participant_id"], "code": inv["code"]},
        )
        assert r.status_code == 201, r.text
        spec.validate("Session", r.json())
        tokens[role] = r.json()["token"]
        assert r.json()["websocket"] == "/ws"

    ws_url = base_url.replace("http://", "ws://") + spec.doc["x-websocket"]["path"]
    async with connect(ws_url) as jws, connect(ws_url) as pws:
        judge, party = Socket(jws, spec), Socket(pws, spec)
        await judge.send({"v": 1, "type": "hello", "token": tokens["judge"]})
        welcome = await judge.until(lambda m: m["type"] == "welcome")
        assert welcome["role"] == "judge"
        await party.send({"v": 1, "type": "hello", "token": tokens["plaintiff"]})
        pw = await party.until(lambda m: m["type"] == "welcome")
        assert pw["participant_id"] == people["plaintiff"]["participant_id"]

        ping = await judge.send({"v": 1, "type": "ping", "id": "p1"})
        assert ping is None
        assert (await judge.until(lambda m: m["type"] == "pong"))["id"] == "p1"

        # A command, its result, and the event it caused reaching another participant.
        result = await judge.command("open_hearing")
        assert result["ok"] is True and result["seqs"], result
        event = await party.until(
            lambda m: m["type"] == "event" and m["event"]["type"] == "phase_changed"
        )
        spec.validate(
            "event_phase_changed", {k: v for k, v in event["event"].items() if k != "type"}
        )
        assert event["seq"] in result["seqs"]

        result = await judge.command("admit", participant=people["plaintiff"]["participant_id"])
        assert result["ok"] is True, result
        moved = await party.until(
            lambda m: (
                m["type"] == "event"
                and m["event"]["type"] == "presence_changed"
                and m["event"]["presence"] == "in_hearing"
            )
        )
        assert moved["event"]["participant"] == people["plaintiff"]["participant_id"]

        refused = await party.command("close_hearing")
        assert refused["ok"] is False and refused["code"] == "forbidden"

        # A bad message is an error, and the connection stays open.
        await party.ws.send("{not json")
        err = await party.until(lambda m: m["type"] == "error")
        assert err["code"] == "malformed"

        # The used token cannot open a second websocket (single-use for websockets).
        async with connect(ws_url) as again:
            await again.send(json.dumps({"v": 1, "type": "hello", "token": tokens["plaintiff"]}))
            with pytest.raises(Exception):  # noqa: B017 - closed with 4401
                while True:
                    await again.recv()
            assert again.close_code == 4401

    # The log over REST, its chain, and the _security chain.
    r = http.get(f"/api/v1/hearings/{hid}/log", headers=reg)
    assert r.status_code == 200
    spec.validate("LogEntries", r.json())
    entries = r.json()["entries"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    types = [e["event"]["type"] for e in entries]
    assert "phase_changed" in types and "command_rejected" in types and "access_refused" in types
    r = http.get(f"/api/v1/hearings/{hid}/log/verify", headers=reg)
    assert r.status_code == 200 and r.json()["ok"] is True
    spec.validate("ChainReport", r.json())
    r = http.get(f"/api/v1/hearings/{hid}/log", params={"after": entries[-2]["seq"]}, headers=reg)
    later = [e["seq"] for e in r.json()["entries"]]  # disconnects may still be arriving
    assert later[0] == entries[-1]["seq"] and later == sorted(later)

    # A forged token on the websocket is refused and logged in the server-wide _security chain.
    async with connect(ws_url) as forged:
        await forged.send(json.dumps({"v": 1, "type": "hello", "token": "forged.token.x"}))
        with pytest.raises(Exception):  # noqa: B017 - closed with 4401
            while True:
                await forged.recv()
        assert forged.close_code == 4401
    r = http.get("/api/v1/hearings/_security/log", headers=reg)
    assert r.status_code == 200, r.text
    spec.validate("LogEntries", r.json())
    assert r.json()["entries"][-1]["event"]["type"] == "access_refused"
    r = http.get("/api/v1/hearings/_security/log/verify", headers=reg)
    assert r.status_code == 200 and r.json()["ok"] is True, r.text

    r = http.get(f"/api/v1/hearings/{hid}/media", headers=reg)
    assert r.status_code == 200
    spec.validate("MediaCounters", r.json())
