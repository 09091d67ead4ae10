"""Over Redis, each participant's signalling arrives in the order the server made it.

Found by the cluster bench: now and then a participant's ``offer`` reached it before the
``config`` that comes first (two publishes in flight at once left on two Redis connections),
so the client had no peer to answer with and its media never started. Here eight participants
of a hearing on a clustered node (a real redis-server) each say ``hello`` six times, which
makes the server build a new peer each time and send ``config`` then ``offer`` (seq 1). Every
participant must see exactly that order, every time. Written from docs/protocol.md's
signalling section alone (no answer is needed for the first offer).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

from court_client import Client, schedule, start_server, token_for

from tests.conftest import free_port

CAST = {"judge": "judge", "clerk": "clerk", "plaintiff": "plaintiff", "defendant": "defendant",
        "lawyer": "lawyer", "witness": "witness", "interpreter": "interpreter", "observer": "observer"}
HELLOS = 6


def signals(client: Client) -> list[str]:
    out = []
    for m in client.received:
        if m["type"] == "signal":
            data = m["data"]
            out.append(data["type"] + (f":{data['seq']}" if "seq" in data else ""))
    return out


async def test_each_participants_signals_arrive_in_order_over_redis(tmp_path: Path, redis_url: str) -> None:
    port = free_port()
    env = {"COURTROOM_REDIS_URL": redis_url, "COURTROOM_NODE_URL": f"http://127.0.0.1:{port}",
           "COURTROOM_NODE_ID": "signal-order", "COURTROOM_MEDIA_ONLY": "1"}
    server = start_server(tmp_path / "data", extra_env=env, args=["--port", str(port), "--ice-loopback-only"])
    clients: list[Client] = []
    try:
        _hid, inv = schedule(server, CAST)
        clients = [await Client.join(server, token_for(server, inv[name])) for name in CAST]
        assert all(c.welcome and c.welcome["type"] == "welcome" for c in clients)
        for round_ in range(1, HELLOS + 1):
            # Everyone at once, as a room full of phones (re)connecting does.
            await asyncio.gather(*(c.send({"v": 1, "type": "signal", "data": {"type": "hello"}}) for c in clients))
            await asyncio.gather(*(c.wait_for(lambda m, c=c, n=round_: signals(c).count("offer:1") >= n, timeout=20)
                                   for c in clients))
        seen: dict[str, Any] = {name: signals(c) for name, c in zip(CAST, clients, strict=True)}
        expected = ["config", "offer:1"] * HELLOS
        assert all(s == expected for s in seen.values()), seen
    finally:
        for c in clients:
            await c.close()
        server.kill(signal.SIGTERM)
