"""Chat through a real server (issue #15): who receives which message, the judge's mute, the
log; and a console that reconnects with its cursor gets exactly what it missed."""

from __future__ import annotations

import asyncio
from typing import Any

from court_client import (
    Client,
    Server,
    join_invited,
    read_log,
    registry,
    schedule,
    token_for,
)

CAST = {"judge": "judge", "clerk": "clerk", "plaintiff": "plaintiff", "witness": "witness"}




def chats(client: Client) -> list[str]:
    return [ev["text"] for ev in client.events("chat_message")]


async def seated(server: Server) -> tuple[dict[str, Any], dict[str, Client], dict[str, str]]:
    """Judge, clerk and plaintiff in an open hearing; the witness in the waiting room."""
    hid, inv = schedule(server, CAST)
    ids = {name: inv[name]["participant_id"] for name in CAST}
    c = {name: await join_invited(server, inv[name]) for name in CAST}
    assert (await c["judge"].command("open_hearing"))["ok"]
    assert (await c["judge"].command("admit", participant=ids["plaintiff"]))["ok"]
    assert (await c["judge"].command("admit", participant=ids["witness"]))["ok"]
    await c["witness"].wait_for(lambda m: m["type"] == "event" and m["event"].get("presence") == "waiting_room")
    return {"hid": hid, "inv": inv}, c, ids


async def settle(*clients: Client, text: str) -> None:
    for client in clients:
        await client.wait_for(lambda m: m["type"] == "event" and m["event"].get("text") == text)


async def test_who_receives_which_message_and_a_mute(server: Server) -> None:
    meta, c, ids = await seated(server)
    judge, clerk, party, witness = c["judge"], c["clerk"], c["plaintiff"], c["witness"]
    assert (await party.command("send_message", to="hearing", text="原告：请求出示借条。"))["ok"]
    assert (await judge.command("send_message", to="bench", text="合议：稍后休庭。"))["ok"]
    assert (await clerk.command("send_message", to=f"participant:{ids['witness']}", text="请稍候，马上传您。"))["ok"]
    assert (await witness.command("send_message", to=f"participant:{ids['clerk']}", text="好的，我在等。"))["ok"]
    # A waiting witness cannot write to the hearing; a party cannot write to the witness.
    out = await witness.command("send_message", to="hearing", text="我能说话吗？")
    assert not out["ok"] and out["code"] == "wrong_presence", out
    out = await party.command("send_message", to=f"participant:{ids['witness']}", text="你好")
    assert not out["ok"] and out["code"] == "forbidden", out

    # The judge mutes the plaintiff: refused with a clear code, and logged.
    assert (await judge.command("mute_chat", participant=ids["plaintiff"]))["ok"]
    out = await party.command("send_message", to="hearing", text="我还有话说。")
    assert not out["ok"] and out["code"] == "chat_muted" and "muted" in out["reason"], out
    # A marker everyone in the hearing receives after all of the above.
    assert (await judge.command("send_message", to="hearing", text="继续。"))["ok"]
    await settle(judge, clerk, party, text="继续。")
    await settle(witness, text="好的，我在等。")

    assert chats(judge) == ["原告：请求出示借条。", "合议：稍后休庭。", "请稍候，马上传您。", "好的，我在等。", "继续。"]
    assert chats(clerk) == chats(judge)
    assert chats(party) == ["原告：请求出示借条。", "继续。"]
    assert chats(witness) == ["请稍候，马上传您。", "好的，我在等。"]
    # Nothing of the hearing's chat, and not the mute of another, reaches the waiting room.
    assert not [m for m in witness.received if "原告" in str(m) or "合议" in str(m) or "继续" in str(m)]
    assert not witness.events("chat_mute_changed")

    entries = read_log(server, meta["hid"])
    logged = [e["event"]["text"] for e in entries if e["event"]["type"] == "chat_message"]
    assert logged == chats(judge)
    refusals = [e for e in entries if e["event"]["type"] == "command_rejected" and e["event"]["code"] == "chat_muted"]
    assert len(refusals) == 1 and refusals[0]["actor"] == ids["plaintiff"]
    with registry(server) as http:
        assert http.get(f"/api/v1/hearings/{meta['hid']}/log/verify").json()["ok"]
    for client in c.values():
        await client.close()


async def test_the_rate_limit_refuses_a_burst(server: Server) -> None:
    _, c, _ = await seated(server)
    results = [await c["plaintiff"].command("send_message", to="hearing", text=f"第{i}条") for i in range(6)]
    assert [r["ok"] for r in results] == [True] * 5 + [False]
    assert results[-1]["code"] == "chat_rate_limited", results[-1]
    for client in c.values():
        await client.close()


async def test_a_reconnecting_console_gets_exactly_what_it_missed(server: Server) -> None:
    meta, c, ids = await seated(server)
    judge, clerk, party, witness = c["judge"], c["clerk"], c["plaintiff"], c["witness"]
    assert (await party.command("send_message", to="hearing", text="before"))["ok"]
    await settle(judge, text="before")
    cursor = max(m["seq"] for m in judge.received if m["type"] == "event")
    seen_before = {m["seq"] for m in judge.received if m["type"] == "event"}
    token = judge.welcome["token"] if judge.welcome else ""  # the console keeps its latest token
    await judge.close()  # the console is killed mid-hearing
    await clerk.wait_for(lambda m: m["type"] == "event" and m["event"]["type"] == "participant_disconnected"
                         and m["event"]["participant"] == ids["judge"])
    missed = ["missed 1", "missed 2", "missed 3"]
    for i, text in enumerate(missed):
        sender = party if i % 2 == 0 else clerk
        assert (await sender.command("send_message", to="hearing", text=text))["ok"]
    assert (await clerk.command("send_message", to=f"participant:{ids['witness']}", text="private"))["ok"]
    await settle(clerk, text="private")

    # Reopened with its cursor; meanwhile the hearing goes on (live events while catching up).
    judge = await Client.join(server, token, after=cursor)
    assert judge.welcome and judge.welcome["type"] == "welcome", judge.welcome
    assert (await party.command("send_message", to="hearing", text="live"))["ok"]
    await settle(judge, text="live")
    await asyncio.sleep(0.3)  # anything sent twice would have arrived by now
    seqs = [m["seq"] for m in judge.received if m["type"] == "event"]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), seqs  # in order, none twice
    assert min(seqs) == cursor + 1 and not set(seqs) & seen_before
    # Every entry after the cursor the judge may see, i.e. all of them: no gap.
    entries = read_log(server, meta["hid"])
    assert seqs == [e["seq"] for e in entries if e["seq"] > cursor][: len(seqs)]
    assert chats(judge) == [*missed, "private", "live"]
    assert judge.welcome is not None and judge.welcome["head_seq"] >= max(s for s in seqs if s < seqs[-1])

    # A waiting witness reconnecting from 0 receives none of the hearing's chat or goings-on.
    token = witness.welcome["token"] if witness.welcome else ""
    await witness.close()
    await clerk.wait_for(lambda m: m["type"] == "event" and m["event"]["type"] == "participant_disconnected"
                         and m["event"]["participant"] == ids["witness"])
    witness = await Client.join(server, token, after=0)
    assert witness.welcome and witness.welcome["type"] == "welcome", witness.welcome
    assert (await clerk.command("send_message", to=f"participant:{ids['witness']}", text="after"))["ok"]
    await settle(witness, text="after")
    await asyncio.sleep(0.3)
    events = [m for m in witness.received if m["type"] == "event"]
    seqs = [m["seq"] for m in events]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    assert chats(witness) == ["private", "after"]
    for m in events:
        ev = m["event"]
        if ev["type"] == "chat_message":
            assert ids["witness"] in (ev["sender"], ev["to"].removeprefix("participant:")), ev
        elif ev["type"] != "phase_changed":
            assert ev.get("participant") == ids["witness"], ev  # only what concerns them
    assert "participant_invited" in {m["event"]["type"] for m in events}  # from the very start
    for client in (judge, clerk, party, witness):
        await client.close()


async def test_a_bad_cursor_is_a_bad_hello(server: Server) -> None:
    _, inv = schedule(server, CAST)
    client = await Client.join(server, token_for(server, inv["judge"]), after=-1, expect_welcome=False)
    err = await client.wait_for(lambda m: m["type"] == "error")
    assert err["code"] == "malformed" and "after" in err["message"]
    await client.closed()


async def test_the_bench_sees_who_is_typing_and_nothing_is_logged(server: Server) -> None:
    meta, c, ids = await seated(server)
    judge, clerk, party, witness = c["judge"], c["clerk"], c["plaintiff"], c["witness"]
    before = len(read_log(server, meta["hid"]))
    # Keystrokes: many typing commands in a burst; the bench is told at most once a second.
    for _ in range(5):
        assert (await party.command("typing", to="hearing"))["ok"]
    assert (await witness.command("typing", to=f"participant:{ids['clerk']}"))["ok"]
    for bench in (judge, clerk):
        await bench.wait_for(lambda m: m["type"] == "typing" and m["participant"] == ids["witness"])
        typing = [m for m in bench.received if m["type"] == "typing"]
        assert [m["participant"] for m in typing] == [ids["plaintiff"], ids["witness"]], typing
        assert typing[0]["to"] == "hearing" and typing[1]["to"] == f"participant:{ids['clerk']}"
    # Only the bench: the party and the waiting witness are not told who types.
    assert (await judge.command("send_message", to="hearing", text="marker"))["ok"]
    await settle(party, text="marker")
    assert not [m for m in party.received + witness.received if m["type"] == "typing"]
    entries = read_log(server, meta["hid"])
    assert [e["event"]["type"] for e in entries[before:]] == ["chat_message"]  # typing: nothing

    # Refused typing (a waiting witness to the hearing, a muted party) is refused and logged.
    out = await witness.command("typing", to="hearing")
    assert not out["ok"] and out["code"] == "wrong_presence", out
    assert (await judge.command("mute_chat", participant=ids["plaintiff"]))["ok"]
    out = await party.command("typing", to="hearing")
    assert not out["ok"] and out["code"] == "chat_muted", out
    refused = [e["event"] for e in read_log(server, meta["hid"]) if e["event"]["type"] == "command_rejected"]
    assert [(r["command"], r["code"]) for r in refused] == [("typing", "wrong_presence"), ("typing", "chat_muted")]
    for client in c.values():
        await client.close()


async def test_hostile_chat_input_is_refused_cleanly(server: Server) -> None:
    meta, c, _ = await seated(server)
    party = c["plaintiff"]
    cases = [
        ({"to": "hearing", "text": ""}, "invalid"),
        ({"to": "hearing", "text": "   "}, "invalid"),
        ({"to": "hearing", "text": "长" * 2001}, "invalid"),
        ({"to": "participant:", "text": "x"}, "invalid"),
        ({"to": "participant:nobody", "text": "x"}, "unknown_participant"),
    ]
    for args, code in cases:
        out = await party.command("send_message", **args)
        assert not out["ok"] and out["code"] == code, (args, out)
    # Wrong types, a lone surrogate, deep nesting: the decoding boundary answers, nothing logged.
    for raw in (
        '{"v":1,"type":"command","id":"w1","name":"send_message","args":{"to":"hearing","text":5}}',
        '{"v":1,"type":"command","id":"w2","name":"send_message","args":{"to":["hearing"],"text":"x"}}',
        '{"v":1,"type":"command","id":"w3","name":"send_message","args":{"to":"hearing","text":"\\ud800"}}',
        '{"v":1,"type":"command","id":"w4","name":"typing","args":{"to":' + "[" * 500 + "]" * 500 + "}}",
        '{"v":1,"type":"command","id":"w5","name":"typing","args":{}}',
    ):
        await party.send(raw)
        mid = raw.split('"id":"')[1][:2]
        reply = await party.wait_for(lambda m, mid=mid: m.get("id") == mid or (m["type"] == "error" and m.get("id") in (mid, None)))
        assert reply["type"] in ("error", "result") and not reply.get("ok"), reply
    assert (await party.command("send_message", to="hearing", text="still here"))["ok"]
    logged = [e["event"].get("text") for e in read_log(server, meta["hid"]) if e["event"]["type"] == "chat_message"]
    assert logged == ["still here"]
    for client in c.values():
        await client.close()
