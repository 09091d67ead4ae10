"""What a participant outside the hearing learns over the websocket (issue #11): the hearing's
phase, and events about themself, with no case details and no bench participant ids."""

from __future__ import annotations

from typing import Any

from court_client import Client, Server, join_invited, schedule

CAST = {"judge": "judge", "clerk": "clerk", "plaintiff": "plaintiff", "witness": "witness"}
CASE_DETAILS = ("case_number", "title", "phase_control_delegated")




def states(client: Client) -> list[dict[str, Any]]:
    return [m["state"] for m in client.received if m["type"] in ("welcome", "state")]


async def test_a_waiting_witness_learns_the_phase_only(server: Server) -> None:
    _, inv = schedule(server, CAST)
    judge = await join_invited(server, inv["judge"])
    witness = await join_invited(server, inv["witness"])
    wid, jid = inv["witness"]["participant_id"], inv["judge"]["participant_id"]
    assert (await judge.command("open_hearing"))["ok"]
    assert (await judge.command("admit", participant=wid))["ok"]
    await witness.wait_for(lambda m: m["type"] == "event" and m["event"].get("presence") == "waiting_room")
    assert (await judge.command("change_phase", to="investigation"))["ok"]
    changed = await witness.wait_for(lambda m: m["type"] == "event" and m["event"]["type"] == "phase_changed"
                                     and m["event"]["phase"] == "investigation")
    assert changed["actor"] != jid and changed["actor"] == "court", changed
    for state in states(witness):
        assert not set(CASE_DETAILS) & set(state["hearing"]), state["hearing"]
        assert state["hearing"]["phase"] and state["hearing"]["court"]
    # Nothing the witness was sent names the judge, outside their own call-in.
    assert all(m.get("actor") != jid for m in witness.received if m["type"] == "event")

    # Inside, the witness sees the hearing as the others do (case details, who acted).
    assert (await judge.command("call_in", participant=wid))["ok"]
    called = await witness.wait_for(lambda m: m["type"] == "event" and m["event"].get("reason") == "called_in")
    assert called["actor"] == jid
    inside = await witness.wait_for(lambda m: m["type"] == "state" and m["state"]["hearing"].get("case_number"))
    assert inside["state"]["hearing"]["title"]
    # Sent back: the send-back itself concerns them, but it is the court's act, not a named judge's.
    assert (await judge.command("send_back", participant=wid))["ok"]
    back = await witness.wait_for(lambda m: m["type"] == "event" and m["event"].get("reason") == "sent_back")
    assert back["actor"] == "court"
    last = states(witness)[-1]
    assert not set(CASE_DETAILS) & set(last["hearing"])
    # The bench still sees everything, with real actors.
    seen = [m for m in judge.received if m["type"] == "event" and m["event"]["type"] == "phase_changed"]
    assert seen and seen[-1]["actor"] == jid
    assert judge.last_state()["hearing"]["case_number"]
    for c in (judge, witness):
        await c.close()


async def test_a_party_in_the_lobby_gets_no_case_details(server: Server) -> None:
    _, inv = schedule(server, CAST)
    party = await join_invited(server, inv["plaintiff"])
    assert party.welcome is not None
    hearing = party.welcome["state"]["hearing"]
    assert not set(CASE_DETAILS) & set(hearing), hearing
    await party.close()


def test_the_registry_sees_the_whole_hearing_even_without_a_judge(server: Server) -> None:
    from court_client import registry

    hid, _ = schedule(server, {"witness": "witness"})
    with registry(server) as http:
        state = http.get(f"/api/v1/hearings/{hid}").json()
    assert state["hearing"]["case_number"] and state["hearing"]["title"]
    assert [p["role"] for p in state["participants"]] == ["witness"]
