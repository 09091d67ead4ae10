#!/usr/bin/env python
"""Chat in a case space: N websocket participants in one hearing, through a real server.

    python scripts/bench_chat.py --participants 100 --messages 40

Everyone joins over the documented REST and websocket (tests/integration/case_space.py); the
judge admits them all (the witness to the waiting room). Senders in the hearing take turns
writing to the hearing, one message every `--interval` s (under the chat rate limit), and each
client notes when each message arrived. Delivery latency: the sender's send -> a client's
receipt, on one clock (same process), for every (message, receiving client) pair.

The baseline, in the same run and on the same server: a two-participant hearing (the judge and
one party), the same messages; and a websocket ping/pong round trip. The clients share the
machine's cores with the server, so the figures include the clients' own work. The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "integration")]

from case_space import CaseSpace, TimedClient, open_case_space  # noqa: E402
from court_client import start_server  # noqa: E402


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(q * len(s)))], 4)


def summary(xs: list[float]) -> dict[str, Any]:
    return {"n": len(xs), "p50": pct(xs, 0.5), "p95": pct(xs, 0.95), "max": round(max(xs), 4) if xs else None}


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def chat_round(space: CaseSpace, messages: int, interval: float, tag: str, pid: int) -> dict[str, Any]:
    """Send ``messages`` hearing messages from senders in turn; latency per (message, client),
    and the server's CPU per message (its whole process, idle included)."""
    cpu0 = cpu_s(pid)
    senders = [n for n in space.clients if n != "witness"]
    readers = [c for n, c in space.clients.items() if n != "witness"]
    sent: dict[str, float] = {}
    for i in range(messages):
        sender = space.clients[senders[i % len(senders)]]
        text = f"{tag} 第{i}条"
        sent[text] = time.monotonic()
        out = await sender.command("send_message", to="hearing", text=text)
        assert out["ok"], out
        await asyncio.sleep(interval)
    last = f"{tag} 第{messages - 1}条"
    await asyncio.gather(*(c.wait_for(lambda m: m["type"] == "event" and m["event"].get("text") == last, 60)
                           for c in readers))
    latencies, missing, twice = [], 0, 0
    for client in readers:
        got = client.chat_arrivals()
        texts = [m["event"]["text"] for m in client.received
                 if m["type"] == "event" and m["event"]["type"] == "chat_message" and m["event"]["text"] in sent]
        twice += len(texts) - len(set(texts))
        for text, t0 in sent.items():
            if text in got:
                latencies.append(got[text] - t0)
            else:
                missing += 1
    return {"receivers": len(readers), "messages": messages, "missing": missing, "twice": twice,
            "latency_s": summary(latencies), "server_cpu_ms_per_message": round(1000 * (cpu_s(pid) - cpu0) / messages, 2)}


async def echo(client: TimedClient, n: int) -> dict[str, Any]:
    """Websocket ping/pong round trips on one connection: the floor under any delivery."""
    rtts = []
    for i in range(n):
        t0 = time.monotonic()
        await client.send({"v": 1, "type": "ping", "id": f"e{i}"})
        await client.wait_for(lambda m, i=i: m["type"] == "pong" and m.get("id") == f"e{i}")
        rtts.append(time.monotonic() - t0)
    return summary(rtts)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            t = time.monotonic()
            big = await open_case_space(server, args.participants)
            joined_s = round(time.monotonic() - t, 2)
            small = await open_case_space(server, 2, witness=False)
            base_echo = await echo(small.judge, 50)
            base = await chat_round(small, args.messages, args.interval, "base", server.proc.pid)
            load_echo = await echo(big.judge, 50)
            main = await chat_round(big, args.messages, args.interval, "space", server.proc.pid)
            await small.close()
            await big.close()
        finally:
            server.kill()
    p95, b95 = main["latency_s"]["p95"], base["latency_s"]["p95"]
    return {
        "bench": "chat",
        "participants": args.participants,
        "join_all_s": joined_s,
        "case_space": main,
        "baseline_two_participants": base,
        "baseline_ws_echo_s": base_echo,
        "ws_echo_in_case_space_s": load_echo,
        "ratio_p95_vs_two": round(p95 / b95, 2) if p95 and b95 else None,
        "ratio_p50_vs_two": (round(main["latency_s"]["p50"] / base["latency_s"]["p50"], 2)
                             if base["latency_s"]["p50"] else None),
        "goal_p95_s": 1.0,
        "goal_met": p95 is not None and p95 <= 1.0 and main["missing"] == 0 and main["twice"] == 0,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--participants", type=int, default=100)
    ap.add_argument("--messages", type=int, default=40)
    ap.add_argument("--interval", type=float, default=0.6, help="seconds between messages (the two-participant baseline has two senders: keep it under the chat rate limit)")
    args = ap.parse_args()
    load = round(os.getloadavg()[0], 2)
    result = asyncio.run(run(args))
    result["load_avg_1m_before"] = load
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
