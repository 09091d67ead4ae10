"""Test helpers: a real courtroom server in a subprocess, and real websocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from media_clients import LoopbackClient
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from media.config import IceMode, MediaConfig

REGISTRY_KEY = "test-registry-key-0123456789abcdef0123456789"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    proc: subprocess.Popen[str]
    base: str
    output: list[str] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/ws"

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)


def start_server(data_dir: Path, *, extra_env: dict[str, str] | None = None, args: list[str] | None = None) -> Server:
    env = {
        **os.environ,
        "COURTROOM_DATA_DIR": str(data_dir),
        "COURTROOM_REGISTRY_KEY": REGISTRY_KEY,
        "COURTROOM_SECRET": "test-session-secret-0123456789abcdef0123456789",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    cmd = [sys.executable, "-m", "courtroom.cli", "serve", "--host", "127.0.0.1", "--port", "0", *(args or [])]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
        if m:
            server = Server(proc, m.group(1), lines)
            # Keep draining output so the pipe never blocks the server.
            import threading

            threading.Thread(target=lambda: [lines.append(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
            return server
    proc.kill()
    raise RuntimeError("server did not start:\n" + "".join(lines))



async def join_invited(server: Server, invite: dict[str, Any], after: int | None = None) -> Client:
    """Join with a fresh session token for ``invite``; the court must answer ``welcome``."""
    client = await Client.join(server, token_for(server, invite), after=after)
    assert client.welcome and client.welcome["type"] == "welcome", client.welcome
    return client

@contextmanager
def running_server(data_dir: Path, **kw: Any) -> Iterator[Server]:
    server = start_server(data_dir, **kw)
    try:
        yield server
    finally:
        server.kill(signal.SIGTERM)


def registry(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {REGISTRY_KEY}"}, timeout=10)


BEIJING_HEARING = {
    "case_number": "(2026)京0105民初12345号", "title": "民间借贷纠纷", "court": "北京市朝阳区人民法院",
    "language": "zh", "scheduled_for": "2026-11-23T09:00:00+08:00",
}
# Korean: the one language whose speech model is available on these machines.
SEOUL_HEARING = {
    "case_number": "2026가단12345", "title": "대여금 청구", "court": "서울중앙지방법원",
    "language": "ko", "scheduled_for": "2026-11-23T09:00:00+09:00",
}


def schedule(
    server: Server, roles: dict[str, str], hearing: dict[str, str] = BEIJING_HEARING
) -> tuple[str, dict[str, dict[str, Any]]]:
    """A hearing with one participant per entry of ``roles`` (name -> role)."""
    with registry(server) as http:
        r = http.post("/api/v1/hearings", json=hearing)
        assert r.status_code == 201, r.text
        hid = r.json()["hearing_id"]
        invites = {}
        for name, role in roles.items():
            r = http.post(f"/api/v1/hearings/{hid}/participants", json={"role": role, "display_name": name})
            assert r.status_code == 201, r.text
            invites[name] = r.json()
    return hid, invites


def session(server: Server, invite: dict[str, Any], code: str | None = None) -> httpx.Response:
    return httpx.post(f"{server.base}/api/v1/sessions", json={
        "hearing_id": invite["hearing_id"], "participant_id": invite["participant_id"],
        "code": code if code is not None else invite["code"],
    }, timeout=10)


def token_for(server: Server, invite: dict[str, Any]) -> str:
    r = session(server, invite)
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def read_log(server: Server, hid: str) -> list[dict[str, Any]]:
    with registry(server) as http:
        r = http.get(f"/api/v1/hearings/{hid}/log")
        assert r.status_code == 200, r.text
        return list(r.json()["entries"])


class Client:
    """A participant's websocket connection, collecting everything the server sends."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []
        self._n = 0
        self._new = asyncio.Event()
        self._reader = asyncio.create_task(self._read())
        self.welcome: dict[str, Any] | None = None

    @classmethod
    async def join(cls, server: Server, token: str, *, expect_welcome: bool = True, after: int | None = None) -> Client:
        """``after``: a reconnect's cursor, the last event seq seen (the server catches up)."""
        ws = await connect(server.ws_url, open_timeout=10, max_size=2**21)
        client = cls(ws)
        hello: dict[str, Any] = {"v": 1, "type": "hello", "token": token}
        if after is not None:
            hello["after"] = after
        await client.send(hello)
        if expect_welcome:
            client.welcome = await client.wait_for(lambda m: m["type"] in ("welcome", "refused", "error"))
        return client

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.received.append(json.loads(raw))
                self._new.set()
        except ConnectionClosed:
            pass  # close_code / close_reason say how
        finally:
            self._new.set()

    async def send(self, msg: dict[str, Any] | str) -> None:
        await self.ws.send(msg if isinstance(msg, str) else json.dumps(msg))

    async def command(self, name: str, **args: Any) -> dict[str, Any]:
        self._n += 1
        mid = f"c{self._n}"
        await self.send({"v": 1, "type": "command", "id": mid, "name": name, "args": args})
        return await self.wait_for(lambda m: m["type"] == "result" and m.get("id") == mid)

    async def wait_for(self, pred: Any, timeout: float = 10.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        seen = 0
        while True:
            for m in self.received[seen:]:
                if pred(m):
                    return m
            seen = len(self.received)
            if self._reader.done():
                raise AssertionError(f"connection closed ({self.ws.close_code} {self.ws.close_reason}); got {self.received}")
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out; got {self.received}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    async def wait_presence(self, pid: str, presence: str, timeout: float = 10.0) -> None:
        """Wait until this client's own view of the room shows ``pid`` as ``presence``, as a
        person would look at the screen: the state may arrive after the event that caused it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.presence(pid) != presence:
            if self._reader.done():
                raise AssertionError(f"connection closed ({self.ws.close_code} {self.ws.close_reason}); got {self.received}")
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {pid} to be {presence}; last state {self.last_state()}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    async def closed(self, timeout: float = 10.0) -> tuple[int | None, str | None]:
        await asyncio.wait_for(self._reader, timeout)
        return self.ws.close_code, self.ws.close_reason

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        return [m["event"] for m in self.received if m["type"] == "event" and (type_ is None or m["event"]["type"] == type_)]

    def last_state(self) -> dict[str, Any]:
        states = [m["state"] for m in self.received if m["type"] in ("state", "welcome")]
        return states[-1]

    def presence(self, pid: str) -> str | None:
        for p in self.last_state()["participants"]:
            if p["participant_id"] == pid:
                return str(p["presence"])
        return None

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


# --- media over the hearing websocket -----------------------------------------------------

LOOPBACK = MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY)


class WsUplink:
    """What a LoopbackClient needs of a hub, carried over the hearing websocket instead."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.config = LOOPBACK

    async def handle_signal(self, pid: str, message: dict[str, Any]) -> None:
        await self.client.send({"v": 1, "type": "signal", "data": message})


async def media_for(client: Client, pid: str, *, connect_timeout: float = 15, **kw: Any) -> LoopbackClient:
    """A real aiortc peer for ``pid`` whose signalling rides ``client``'s websocket."""
    peer = LoopbackClient(pid, WsUplink(client), config=LOOPBACK, **kw)  # type: ignore[arg-type]

    async def pump() -> None:
        seen = 0
        while True:
            for m in client.received[seen:]:
                if m["type"] == "signal":
                    peer.inbox.put_nowait(m["data"])
            seen = len(client.received)
            await asyncio.sleep(0.01)

    peer._pump = asyncio.create_task(pump())  # type: ignore[attr-defined]
    await peer.connect(connect_timeout)
    return peer




def route_counters(server: Server, hid: str) -> dict[tuple[str, str, str, str], int]:
    """Packets the server forwarded per route (source, kind, destination, link), from its own
    counters (``GET /api/v1/hearings/{hid}/media``)."""
    with registry(server) as http:
        routes = http.get(f"/api/v1/hearings/{hid}/media").json()["routes"]
    return {(r["source"], r["kind"], r["destination"], r["link"]): r["packets"] for r in routes}


async def grows(peer: LoopbackClient, route: tuple[str, str, str], within: float = 3.0) -> bool:
    """Whether ``peer`` receives more packets on ``route`` (source, kind, link) within ``within`` s."""
    start = (await peer.inbound_by_route()).get(route, 0)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        if (await peer.inbound_by_route()).get(route, 0) > start:
            return True
    return False
