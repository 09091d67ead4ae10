"""Hostile input from an independent client (issue #11): every bad frame or body gets an
error answer; the connection, the server and the log stay intact. Never a bare close, never a 500."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from court_client import (
    REGISTRY_KEY,
    Client,
    Server,
    join_invited,
    read_log,
    registry,
    schedule,
)

CAST = {"judge": "judge", "clerk": "clerk", "plaintiff": "plaintiff", "witness": "witness"}
LONE_SURROGATE = "\\ud800"  # as a client writes it: a JSON escape json.loads accepts


@pytest.fixture
def hearing(server: Server) -> tuple[str, dict[str, dict[str, Any]]]:
    return schedule(server, CAST)




async def error_after(client: Client, raw: str) -> dict[str, Any]:
    before = len(client.received)
    await client.send(raw)
    return await client.wait_for(
        lambda m: m["type"] == "error" and any(m is x for x in client.received[before:])
    )


async def still_served(client: Client, mid: str) -> None:
    await client.send({"v": 1, "type": "ping", "id": mid})
    assert (await client.wait_for(lambda m: m["type"] == "pong" and m.get("id") == mid))["id"] == mid


def log_ok(server: Server, hid: str) -> None:
    with registry(server) as http:
        assert http.get(f"/api/v1/hearings/{hid}/log/verify").json()["ok"]


async def test_a_lone_surrogate_is_an_error_and_the_socket_keeps_serving(
    server: Server, hearing: Any
) -> None:
    hid, inv = hearing
    judge = await join_invited(server, inv["judge"])
    party = await join_invited(server, inv["plaintiff"])
    pid = inv["plaintiff"]["participant_id"]
    err = await error_after(party, '{"v":1,"type":"ping","id":"' + LONE_SURROGATE + '"}')
    assert err["code"] == "malformed" and "id" not in err, err
    await still_served(party, "after-surrogate")
    # A lone surrogate nested anywhere (a key, a list, a signal) is refused the same way.
    for raw in (
        '{"v":1,"type":"signal","data":{"type":"hello","x":["' + LONE_SURROGATE + '"]}}',
        '{"v":1,"type":"ping","id":"k","' + LONE_SURROGATE + '":1}',
        '{"v":1,"type":"hello","token":"' + LONE_SURROGATE + '"}',
    ):
        assert (await error_after(party, raw))["code"] == "malformed"
    await still_served(party, "after-nested")
    # The judge's dismissal still reaches the party, with its close code.
    assert (await judge.command("open_hearing"))["ok"]
    assert (await judge.command("dismiss", participant=pid))["ok"]
    await party.wait_for(lambda m: m["type"] == "event" and m["event"].get("presence") == "dismissed")
    assert await party.closed() == (4403, "dismissed")
    log_ok(server, hid)
    await judge.close()


async def test_b_deep_nesting_is_an_error_not_a_recursion_error(server: Server, hearing: Any) -> None:
    hid, inv = hearing
    judge = await join_invited(server, inv["judge"])
    for depth in (2_000, 30_000):  # 4 KB and 60 KB frames, both under the 64 KiB limit
        raw = '{"v":1,"type":"ping","id":"d","x":' + "[" * depth + "]" * depth + "}"
        err = await error_after(judge, raw)
        assert err["code"] == "malformed" and "deep" in err["message"], err
    await still_served(judge, "after-depth")
    assert (await judge.command("open_hearing"))["ok"]
    log_ok(server, hid)
    await judge.close()


async def test_c_an_unparsable_answer_is_an_error(server: Server, hearing: Any) -> None:
    hid, inv = hearing
    judge = await join_invited(server, inv["judge"])
    await judge.send({"v": 1, "type": "signal", "data": {"type": "hello"}})
    offer = await judge.wait_for(lambda m: m["type"] == "signal" and m["data"]["type"] == "offer")
    seq = offer["data"]["seq"]
    bad = {"v": 1, "type": "signal", "data": {"type": "answer", "sdp": "v=0\r\ngarbage", "seq": seq}}
    import json

    err = await error_after(judge, json.dumps(bad))
    assert err["code"] == "malformed" and "sdp" in err["message"], err
    await still_served(judge, "after-sdp")
    assert (await judge.command("open_hearing"))["ok"]
    log_ok(server, hid)
    await judge.close()


async def test_d_refuse_to_sign_with_a_lone_surrogate(server: Server, hearing: Any) -> None:
    hid, inv = hearing
    witness = await join_invited(server, inv["witness"])
    head = len(read_log(server, hid))
    raw = (
        '{"v":1,"type":"command","id":"r1","name":"refuse_to_sign",'
        '"args":{"purpose":"oath","reason":"no ' + LONE_SURROGATE + '"}}'
    )
    err = await error_after(witness, raw)
    assert err["code"] == "malformed" and err.get("id") == "r1", err
    await still_served(witness, "after-refuse")
    # A well-formed refusal goes through and is logged.
    assert (await witness.command("refuse_to_sign", purpose="oath", reason="不签"))["ok"]
    types = [e["event"]["type"] for e in read_log(server, hid)[head:]]
    assert types == ["signing_refused"], types
    log_ok(server, hid)
    await witness.close()


def test_e_rest_bodies_and_queries_are_400_never_500(server: Server, hearing: Any) -> None:
    hid, _ = hearing
    auth = {"Authorization": f"Bearer {REGISTRY_KEY}", "content-type": "application/json"}
    schedule_body = (
        '{"case_number":"' + LONE_SURROGATE + '","court":"c","language":"zh",'
        '"scheduled_for":"2026-11-23T09:00:00+08:00"}'
    )
    cases = [
        ("POST", "/api/v1/hearings", schedule_body),
        ("POST", f"/api/v1/hearings/{hid}/participants",
         '{"role":"witness","display_name":"' + LONE_SURROGATE + '"}'),
        ("POST", f"/api/v1/hearings/{hid}/participants",
         '{"role":"witness","display_name":"x","y":' + "[" * 5000 + "]" * 5000 + "}"),
        ("POST", "/api/v1/hearings", '{"case_number": NaN}'),
        ("POST", "/api/v1/hearings", b'{"case_number": "\xff"}'),
        ("GET", f"/api/v1/hearings/{hid}/log?after=abc", None),
        ("GET", f"/api/v1/hearings/{hid}/log?after=-5", None),
        ("GET", f"/api/v1/hearings/{hid}/log?after=" + "9" * 5000, None),
    ]
    for method, path, body in cases:
        r = httpx.request(method, server.base + path, headers=auth, content=body, timeout=10)
        assert r.status_code in (400, 422), (path, body and body[:40], r.status_code, r.text[:200])
        assert r.json()["error"] and r.json()["message"]
    with registry(server) as http:
        assert http.get(f"/api/v1/hearings/{hid}/log?after=1").status_code == 200
        # Unknown methods and API paths answer in the same JSON error format.
        r = http.delete("/api/v1/hearings")
        assert r.status_code == 405 and r.json()["error"] == "method_not_allowed", r.text
        r = http.get("/api/v1/no-such-route")
        assert r.status_code == 404 and r.json()["error"] == "not_found", r.text
    log_ok(server, hid)


async def test_the_connection_survives_every_case_in_a_row(server: Server, hearing: Any) -> None:
    """One socket, all of the above, then a normal command: still in order."""
    _, inv = hearing
    judge = await join_invited(server, inv["judge"])
    for raw in (
        '{"v":1,"type":"ping","id":"' + LONE_SURROGATE + '"}',
        '{"v":1,"type":"ping","x":' + "[" * 3000 + "]" * 3000 + "}",
        '{"v":1,"type":"ping","x":1e999999}',
        '{"v":1,"type":"ping","x":' + "1" * 5000 + "}",
        '{"v":1,"type":"ping","id":"p","extra":true}',
        '{"v":1,"type":"command","id":"q","name":"open_hearing","args":{"bogus":1}}',
        '{"v":1,"type":"signal","data":{"type":"answer","sdp":7,"seq":1}}',
    ):
        await error_after(judge, raw)
    await asyncio.sleep(0.1)
    assert (await judge.command("open_hearing"))["ok"]
    await judge.close()
