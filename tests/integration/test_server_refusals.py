"""Refusals and tokens (issue #11): every refusal is logged, REST included, in the hearing's log
or the server-wide ``_security`` chain; a flood is counted, not logged line by line; a token that
opened a websocket is spent on REST too; a dismissed participant's token reads nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from court_client import Client, Server, read_log, registry, running_server, schedule, token_for

CAST = {"judge": "judge", "plaintiff": "plaintiff", "witness": "witness"}
WINDOW_S = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"COURTROOM_REFUSAL_WINDOW_S": str(WINDOW_S)}
    with running_server(tmp_path_factory.mktemp("court"), extra_env=env) as s:
        yield s


def refused(server: Server, stream: str) -> list[dict[str, Any]]:
    with registry(server) as http:
        r = http.get(f"/api/v1/hearings/{stream}/log")
    if r.status_code == 404:
        return []
    assert r.status_code == 200, r.text
    return [e for e in r.json()["entries"] if e["event"]["type"].startswith("access_refused")]


def get(server: Server, path: str, token: str | None, method: str = "GET", **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.request(method, server.base + path, headers=headers, timeout=10, **kw)


def forge(token: str) -> str:
    head, _, sig = token.rpartition(".")
    return head + "." + ("A" if sig[0] != "A" else "B") + sig[1:]


def test_rest_refusals_are_logged_where_they_belong(server: Server) -> None:
    hid, inv = schedule(server, CAST)
    other, other_inv = schedule(server, {"judge": "judge"})
    witness = token_for(server, inv["witness"])
    other_judge = token_for(server, other_inv["judge"])
    sec_before = len(refused(server, "_security"))
    cases = [  # (method, path, token, status, where it is logged)
        ("GET", f"/api/v1/hearings/{hid}", None, 401, "_security"),
        ("GET", f"/api/v1/hearings/{hid}/log", "bogus", 401, "_security"),
        ("GET", f"/api/v1/hearings/{hid}/oath", forge(witness), 401, "_security"),
        ("POST", f"/api/v1/hearings/{hid}/participants", witness, 403, hid),
        ("GET", f"/api/v1/hearings/{hid}/log", witness, 403, hid),
        ("GET", f"/api/v1/hearings/{hid}/record", other_judge, 403, other),
        ("GET", f"/api/v1/hearings/{hid}/media", other_judge, 403, other),
        ("GET", "/api/v1/flags", "not-the-inspector-key", 401, "_security"),
        ("POST", f"/api/v1/hearings/{hid}/seal", witness, 403, hid),
        ("GET", "/api/v1/metrics", None, 401, "_security"),
        ("GET", "/api/v1/metrics", witness, 401, "_security"),
        ("GET", f"/api/v1/hearings/{hid}/receipt", forge(witness), 401, "_security"),
    ]
    for method, path, token, status, _ in cases:
        r = get(server, path, token, method, json={"role": "witness", "display_name": "x"} if method == "POST" else None)
        assert r.status_code == status, (path, r.status_code, r.text)
        assert r.json()["error"] in ("unauthenticated", "forbidden")
    sec = refused(server, "_security")[sec_before:]
    assert len(sec) == sum(1 for c in cases if c[4] == "_security"), sec
    assert {e["event"]["route"] for e in sec} >= {"GET /api/v1/hearings/{hearing_id}", "GET /api/v1/flags", "GET /api/v1/metrics"}
    mine = [e for e in refused(server, hid) if e["event"].get("route")]
    assert len(mine) == 3 and {e["event"]["participant"] for e in mine} == {inv["witness"]["participant_id"]}
    assert len([e for e in refused(server, other) if e["event"].get("route")]) == 2
    for stream in (hid, other, "_security"):
        with registry(server) as http:
            assert http.get(f"/api/v1/hearings/{stream}/log/verify").json()["ok"]


def test_a_flood_of_refusals_is_counted_not_logged_one_by_one(server: Server) -> None:
    hid, _ = schedule(server, CAST)
    get(server, "/api/v1/flags", "make-sure-the-chain-exists")
    before = len(read_log(server, "_security"))
    start = time.monotonic()
    with httpx.Client(base_url=server.base, timeout=10) as http:
        for _ in range(300):
            assert http.get(f"/api/v1/hearings/{hid}/log", headers={"Authorization": "Bearer flood"}).status_code == 401
    assert time.monotonic() - start < WINDOW_S * 10
    time.sleep(WINDOW_S * 1.5 + 0.5)  # the window closes; its summary is written
    new = read_log(server, "_security")[before:]
    single = [e for e in new if e["event"]["type"] == "access_refused"]
    summary = [e for e in new if e["event"]["type"] == "access_refused_summary"]
    assert 1 <= len(single) <= 30, len(single)
    assert summary, [e["event"]["type"] for e in new]
    assert len(single) + sum(e["event"]["count"] for e in summary) == 300
    assert all(e["event"]["reason"] == "malformed token" for e in single + summary)


async def test_a_token_that_opened_a_websocket_is_spent_on_rest_too(server: Server) -> None:
    hid, inv = schedule(server, CAST)
    token = token_for(server, inv["judge"])
    assert get(server, f"/api/v1/hearings/{hid}", token).status_code == 200  # not yet used
    judge = await Client.join(server, token)
    assert judge.welcome and judge.welcome["type"] == "welcome"
    spent = get(server, f"/api/v1/hearings/{hid}", token)
    assert spent.status_code == 401 and spent.json()["message"] == "replayed token"
    fresh = judge.welcome["token"]
    assert get(server, f"/api/v1/hearings/{hid}", fresh).status_code == 200
    assert get(server, f"/api/v1/hearings/{hid}", fresh).status_code == 200  # REST does not spend it
    reasons = [e["event"]["reason"] for e in refused(server, hid)]
    assert "replayed token" in reasons
    await judge.close()


async def test_a_dismissed_witness_token_reads_nothing(server: Server) -> None:
    hid, inv = schedule(server, CAST)
    judge = await Client.join(server, token_for(server, inv["judge"]))
    witness = await Client.join(server, token_for(server, inv["witness"]))
    assert witness.welcome and judge.welcome
    wtoken = witness.welcome["token"]
    assert get(server, f"/api/v1/hearings/{hid}/oath", wtoken).status_code == 200
    wid = inv["witness"]["participant_id"]
    assert (await judge.command("open_hearing"))["ok"]
    assert (await judge.command("dismiss", participant=wid))["ok"]
    await witness.closed()
    for path in ("/oath", "/record", "/record.pdf"):
        r = get(server, f"/api/v1/hearings/{hid}{path}", wtoken)
        assert r.status_code == 403 and r.json()["error"] == "forbidden", (path, r.text)
    assert any(e["event"]["reason"].startswith("dismissed") for e in refused(server, hid))
    await judge.close()


async def test_a_websocket_without_a_valid_hello_is_refused_and_logged(server: Server) -> None:
    from websockets.asyncio.client import connect

    get(server, "/api/v1/flags", "make-sure-the-chain-exists")
    before = len(refused(server, "_security"))
    async with connect(server.ws_url) as ws:
        await ws.send(b'{"v": 1, "type": "ping"}')  # binary, and not a hello
        assert '"not_authenticated"' in await ws.recv()
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 4400
    async with connect(server.ws_url) as ws:
        await ws.send('{"v": 1, "type": "hello", "token": "' + "\\ud800" + '"}')
        assert '"malformed"' in await ws.recv()
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 4400
    new = refused(server, "_security")[before:]
    assert [e["event"]["reason"] for e in new] == [
        "first message was not a hello", "first message was not a valid hello"
    ]
    assert all(e["event"]["route"] == "ws /ws" for e in new)


async def test_a_flood_of_refused_commands_is_counted_not_logged_one_by_one(server: Server) -> None:
    hid, inv = schedule(server, CAST)
    witness = await Client.join(server, token_for(server, inv["witness"]))
    wid = inv["witness"]["participant_id"]
    for _ in range(40):  # every one is answered, with its refusal
        result = await witness.command("close_hearing")
        assert result["ok"] is False and result["code"] == "forbidden"
    await asyncio.sleep(WINDOW_S * 1.5 + 0.5)  # the window closes; its summary is written
    mine = [e for e in read_log(server, hid) if e["actor"] == wid]
    single = [e for e in mine if e["event"]["type"] == "command_rejected"]
    summary = [e for e in mine if e["event"]["type"] == "command_rejected_summary"]
    assert 1 <= len(single) <= 20, len(single)
    assert len(single) + sum(e["event"]["count"] for e in summary) == 40
    assert all(e["event"]["command"] == "close_hearing" for e in single + summary)
    await witness.close()
