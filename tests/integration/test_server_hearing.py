"""A real server on port 0 with real websocket clients: judge, party, witness, clerk."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from court_client import (
    Client,
    Server,
    join_invited,
    read_log,
    registry,
    running_server,
    schedule,
    session,
    token_for,
)

CAST = {"judge": "judge", "clerk": "clerk", "plaintiff": "plaintiff", "witness": "witness"}


@pytest.fixture
def hearing(server: Server) -> tuple[str, dict[str, dict[str, Any]]]:
    return schedule(server, CAST)




def refusals(server: Server, hid: str, type_: str) -> list[dict[str, Any]]:
    return [e for e in read_log(server, hid) if e["event"]["type"] == type_]


async def test_witness_path_waiting_room_call_in_send_back_dismiss(server: Server, hearing: Any) -> None:
    hid, inv = hearing
    judge = await join_invited(server, inv["judge"])
    party = await join_invited(server, inv["plaintiff"])
    witness = await join_invited(server, inv["witness"])
    wid, pid = inv["witness"]["participant_id"], inv["plaintiff"]["participant_id"]
    assert judge.welcome and judge.welcome["state"]["participants"]

    assert (await judge.command("open_hearing"))["ok"]
    assert (await judge.command("admit", participant=pid))["ok"]
    assert (await judge.command("admit", participant=wid))["ok"]
    await judge.wait_for(lambda m: m["type"] == "state" and any(
        p["participant_id"] == wid and p["presence"] == "waiting_room" for p in m["state"]["participants"]))
    await judge.wait_presence(pid, "in_hearing")

    # The waiting witness learns only about themself: not the party's admission.
    await witness.wait_for(lambda m: m["type"] == "event" and m["event"].get("presence") == "waiting_room")
    assert all(e.get("participant") in (None, wid) for e in witness.events())
    assert [p["participant_id"] for p in witness.last_state()["participants"]] == [wid]

    assert (await judge.command("call_in", participant=wid))["ok"]
    await witness.wait_for(lambda m: m["type"] == "event" and m["event"].get("reason") == "called_in")
    await witness.wait_presence(pid, "in_hearing")  # inside, the witness sees the room

    assert (await judge.command("send_back", participant=wid))["ok"]
    await witness.wait_for(lambda m: m["type"] == "event" and m["event"].get("reason") == "sent_back")
    n = len(witness.events())
    assert (await judge.command("cut_media", participant=pid, kind="audio"))["ok"]
    await party.wait_for(lambda m: m["type"] == "event" and m["event"]["type"] == "media_cut")
    await asyncio.sleep(0.2)
    assert len(witness.events()) == n, "a waiting witness must not hear about the hearing"

    assert (await judge.command("dismiss", participant=wid))["ok"]
    code, reason = await witness.closed()
    assert code == 4403 and reason == "dismissed"

    # Reconnecting after dismissal is refused, with a reason, and logged.
    again = await Client.join(server, witness.welcome["token"])  # type: ignore[index]
    assert again.welcome and again.welcome["type"] == "refused" and again.welcome["code"] == "dismissed"
    assert (await again.closed())[0] == 4403
    rejected = refusals(server, hid, "command_rejected")
    assert any(e["event"]["command"] == "connect" and e["event"]["code"] == "dismissed" for e in rejected)
    for c in (judge, party):
        await c.close()


async def test_witness_cannot_issue_judge_commands(server: Server, hearing: Any) -> None:
    hid, inv = hearing
    judge = await join_invited(server, inv["judge"])
    witness = await join_invited(server, inv["witness"])
    result = await witness.command("close_hearing")
    assert result == {"v": 1, "type": "result", "id": result["id"], "ok": False, "code": "forbidden",
                      "reason": "a witness may not close hearing"}
    result = await witness.command("dismiss", participant=inv["plaintiff"]["participant_id"])
    assert not result["ok"] and result["code"] == "forbidden"
    logged = refusals(server, hid, "command_rejected")
    assert [(e["actor"], e["event"]["command"]) for e in logged][-2:] == [
        (inv["witness"]["participant_id"], "close_hearing"), (inv["witness"]["participant_id"], "dismiss")]
    # The judge is told of the attempt; the connection stays open.
    await judge.wait_for(lambda m: m["type"] == "event" and m["event"]["type"] == "command_rejected")
    assert (await witness.command("set_self_mute", kind="video", muted=True))["ok"]
    for c in (judge, witness):
        await c.close()


async def test_forged_expired_and_replayed_tokens_are_refused_and_audited(server: Server, hearing: Any) -> None:
    hid, inv = hearing
    token = token_for(server, inv["plaintiff"])
    first = await Client.join(server, token)
    assert first.welcome and first.welcome["type"] == "welcome"
    await first.close()

    replay = await Client.join(server, token)
    assert replay.welcome == {"v": 1, "type": "error", "code": "not_authenticated", "message": "replayed token"}
    assert (await replay.closed())[0] == 4401

    head, _, sig = token.rpartition(".")
    forged_token = head + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    forged = await Client.join(server, forged_token)
    assert forged.welcome and forged.welcome["message"] == "forged token"
    assert (await forged.closed())[0] == 4401

    reasons = [e["event"]["reason"] for e in refusals(server, hid, "access_refused")]
    assert "replayed token" in reasons
    with registry(server) as http:
        sec = http.get("/api/v1/hearings/_security/log").json()["entries"]
    assert any(e["event"]["reason"] == "forged token" for e in sec)


async def test_expired_token_is_refused_and_audited(tmp_path: Path) -> None:
    with running_server(tmp_path, extra_env={"COURTROOM_SESSION_TTL_S": "1"}) as server:
        hid, inv = schedule(server, {"judge": "judge", "plaintiff": "plaintiff"})
        token = token_for(server, inv["plaintiff"])
        await asyncio.sleep(2.1)
        client = await Client.join(server, token)
        assert client.welcome and client.welcome["message"] == "expired token"
        assert (await client.closed())[0] == 4401
        reasons = [e["event"]["reason"] for e in refusals(server, hid, "access_refused")]
        assert reasons == ["expired token"]


async def test_malformed_oversized_and_unknown_messages(server: Server, hearing: Any) -> None:
    hid, inv = hearing
    judge = await join_invited(server, inv["judge"])
    cases = [
        ("{not json", "malformed"),
        ("[1,2]", "malformed"),
        ('{"v": 2, "type": "ping"}', "unsupported_version"),
        ('{"v": 1, "type": "teleport"}', "unknown_type"),
        ('{"v": 1, "type": "command", "id": "x", "name": "self_destruct"}', "unknown_command"),
        ('{"v": 1, "type": "command", "id": "y", "name": "call_in", "args": {"participant": 7}}', "malformed"),
        ('{"v": 1, "type": "command", "name": "open_hearing"}', "malformed"),
        ('{"v": 1, "type": "ping", "pad": "' + "x" * 70_000 + '"}', "too_large"),
    ]
    for raw, code in cases:
        before = len(judge.received)
        await judge.send(raw)
        msg = await judge.wait_for(lambda m, b=before: m["type"] == "error" and judge.received.index(m) >= b)
        assert msg["code"] == code, (raw[:60], msg)
        assert msg["message"]
    # Still connected and served:
    await judge.send({"v": 1, "type": "ping", "id": "p1"})
    assert (await judge.wait_for(lambda m: m["type"] == "pong"))["id"] == "p1"
    assert (await judge.command("open_hearing"))["ok"]
    # Past the transport limit (1 MiB) the connection is closed with 1009, and the log is intact.
    await judge.send("x" * (1024 * 1024 + 10))
    code, _ = await judge.closed()
    assert code == 1009
    with registry(server) as http:
        assert http.get(f"/api/v1/hearings/{hid}/log/verify").json()["ok"]


async def test_hello_must_come_first(server: Server) -> None:
    from websockets.asyncio.client import connect

    async with connect(server.ws_url) as ws:
        await ws.send('{"v": 1, "type": "ping"}')
        assert '"not_authenticated"' in await ws.recv()
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 4400


def test_join_code_is_one_time_and_wrong_codes_lock_out(server: Server, hearing: Any) -> None:
    hid, inv = hearing
    party = inv["plaintiff"]
    assert session(server, party).status_code == 201
    used = session(server, party)
    assert used.status_code == 401 and "already used" in used.json()["message"]
    w = inv["witness"]
    for _ in range(5):
        r = session(server, w, code="00000000" if w["code"] != "00000000" else "11111111")
        assert r.status_code == 401 and r.json()["message"].startswith("wrong join code")
    locked = session(server, w)  # even the right code, now
    assert locked.status_code == 429 and "new code" in locked.json()["message"]
    with registry(server) as http:
        fresh = http.post(f"/api/v1/hearings/{hid}/participants/{w['participant_id']}/join-code").json()
    assert session(server, fresh).status_code == 201
    issued = [e for e in read_log(server, hid) if e["event"]["type"] == "join_code_issued"]
    assert all("code" not in e["event"] for e in issued)


def test_rest_api_checks_roles_and_describes_itself(server: Server, hearing: Any) -> None:
    hid, inv = hearing
    witness_token = token_for(server, inv["witness"])
    r = httpx.post(f"{server.base}/api/v1/hearings/{hid}/participants",
                   headers={"Authorization": f"Bearer {witness_token}"}, json={"role": "lawyer", "display_name": "x"})
    assert r.status_code == 403
    r = httpx.post(f"{server.base}/api/v1/hearings", json={})
    assert r.status_code == 401
    with registry(server) as http:
        assert http.post("/api/v1/hearings", json={"court": "c"}).status_code == 400
        bad_role = http.post(f"/api/v1/hearings/{hid}/participants", json={"role": "king", "display_name": "x"})
        assert bad_role.status_code == 400 and "role must be one of" in bad_role.json()["message"]
        assert http.get("/api/v1/hearings/nope").status_code == 404
    spec = httpx.get(f"{server.base}/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/hearings", "/api/v1/sessions", "/api/v1/hearings/{hearing_id}/log/verify"} <= set(spec["paths"])
