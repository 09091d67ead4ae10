"""A case space: one hearing with many websocket participants, through a real server, over
the documented REST (schedule, invite, sessions) and websocket (hello, admit) alone.

Shared by tests/integration/test_chat_case_space.py and scripts/bench_chat.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from court_client import Client, Server, schedule
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

# The others who fill the room, in turn: parties, their lawyers, interpreters.
_ROLES = ("plaintiff", "defendant", "lawyer", "lawyer", "interpreter")


class TimedClient(Client):
    """A Client that also keeps when (monotonic) each message arrived."""

    def __init__(self, ws: Any) -> None:
        self.arrived: list[float] = []
        super().__init__(ws)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.arrived.append(time.monotonic())
                self.received.append(json.loads(raw))
                self._new.set()
        except ConnectionClosed:
            pass
        finally:
            self._new.set()

    @classmethod
    async def open(cls, server: Server, token: str) -> TimedClient:
        ws = await connect(server.ws_url, open_timeout=30, max_size=2**21)
        client = cls(ws)
        await client.send({"v": 1, "type": "hello", "token": token})
        client.welcome = await client.wait_for(lambda m: m["type"] in ("welcome", "refused", "error"), 30)
        assert client.welcome["type"] == "welcome", client.welcome
        return client

    def chat_arrivals(self) -> dict[str, float]:
        """Chat text -> when it arrived (the first time)."""
        out: dict[str, float] = {}
        for at, m in zip(self.arrived, self.received, strict=False):
            if m["type"] == "event" and m["event"]["type"] == "chat_message":
                out.setdefault(m["event"]["text"], at)
        return out


@dataclass
class CaseSpace:
    hid: str
    ids: dict[str, str]  # name -> participant id
    clients: dict[str, TimedClient]  # name -> connection

    @property
    def judge(self) -> TimedClient:
        return self.clients["judge"]

    def others(self) -> list[str]:
        return [n for n in self.clients if n not in ("judge", "clerk", "witness")]

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients.values()))


def cast(n: int, *, witness: bool = True) -> dict[str, str]:
    """``n`` participants: judge, clerk, (a witness,) and parties, lawyers, interpreters."""
    names = {"judge": "judge", "clerk": "clerk"}
    if witness:
        names["witness"] = "witness"
    for i in range(n - len(names)):
        names[f"p{i:03d}"] = _ROLES[i % len(_ROLES)]
    return names


async def open_case_space(server: Server, n: int, *, witness: bool = True) -> CaseSpace:
    """Schedule, invite ``n``, open sessions, connect them all, open the hearing and admit
    everyone (the witness to the waiting room)."""
    names = cast(n, witness=witness)
    hid, invites = await asyncio.to_thread(schedule, server, names)
    tokens = await asyncio.to_thread(_sessions, server, invites)
    sem = asyncio.Semaphore(20)

    async def join(name: str) -> tuple[str, TimedClient]:
        async with sem:
            return name, await TimedClient.open(server, tokens[name])

    clients = dict(await asyncio.gather(*(join(n) for n in names)))
    ids = {name: inv["participant_id"] for name, inv in invites.items()}
    space = CaseSpace(hid, ids, clients)
    assert (await space.judge.command("open_hearing"))["ok"]
    for name in names:
        if name not in ("judge", "clerk"):
            out = await space.judge.command("admit", participant=ids[name])
            assert out["ok"], out
    return space



def _sessions(server: Server, invites: dict[str, dict[str, Any]]) -> dict[str, str]:
    tokens = {}
    with httpx.Client(base_url=server.base, timeout=30) as http:
        for name, inv in invites.items():
            r = http.post("/api/v1/sessions", json={
                "hearing_id": inv["hearing_id"], "participant_id": inv["participant_id"], "code": inv["code"]})
            assert r.status_code == 201, f"{name}: {r.status_code} {r.text}"
            tokens[name] = str(r.json()["token"])
    return tokens
