"""A case space of 100 websocket participants in one hearing, through a real server (issue #15):
everyone in the hearing gets each message once, a muted participant is refused with a clear
error that is logged, and the waiting witness receives only the clerk's messages.

Timing is for scripts/bench_chat.py; nothing here asserts how fast.
"""

from __future__ import annotations

import asyncio

from case_space import CaseSpace, open_case_space
from court_client import Server, read_log

N = 100


def chat_texts(client: object) -> list[str]:
    return [ev["text"] for ev in client.events("chat_message")]  # type: ignore[attr-defined]


async def until_everyone_has(space: CaseSpace, names: list[str], text: str) -> None:
    await asyncio.gather(*(space.clients[n].wait_for(
        lambda m: m["type"] == "event" and m["event"].get("text") == text, 60) for n in names))


async def test_one_hundred_in_one_hearing(server: Server) -> None:
    space = await open_case_space(server, N)
    ids, c = space.ids, space.clients
    inside = [n for n in c if n != "witness"]
    assert len(c) == N and len(inside) == N - 1
    judge, clerk, witness = c["judge"], c["clerk"], c["witness"]

    # Messages to the hearing from five different people, one to the bench, two private ones.
    senders = ["p000", "p001", "p042", "clerk", "judge"]
    hearing = [f"{who}：第{i}条，大家好。" for i, who in enumerate(senders)]
    for who, text in zip(senders, hearing, strict=True):
        assert (await c[who].command("send_message", to="hearing", text=text))["ok"]
    assert (await c["p003"].command("send_message", to="bench", text="请法庭注意时间。"))["ok"]
    assert (await clerk.command("send_message", to=f"participant:{ids['witness']}", text="证人请稍候。"))["ok"]
    assert (await witness.command("send_message", to=f"participant:{ids['clerk']}", text="收到。"))["ok"]

    # The judge mutes p007: refused with a clear error, and the refusal is in the log.
    assert (await judge.command("mute_chat", participant=ids["p007"]))["ok"]
    out = await c["p007"].command("send_message", to="hearing", text="我要发言！")
    assert not out["ok"] and out["code"] == "chat_muted" and "muted" in out["reason"], out

    last = "judge：结束。"
    assert (await judge.command("send_message", to="hearing", text=last))["ok"]
    await until_everyone_has(space, inside, last)
    await witness.wait_for(lambda m: m["type"] == "event" and m["event"].get("text") == "收到。")
    await asyncio.sleep(0.5)  # a message sent twice would have arrived by now

    for name in inside:
        got = chat_texts(c[name])
        want = [*hearing, last]
        if name in ("judge", "clerk"):  # the bench also reads the bench and the private line
            want = [*hearing, "请法庭注意时间。", "证人请稍候。", "收到。", last]
        elif name == "p003":
            want = [*hearing, "请法庭注意时间。", last]
        assert got == want, (name, got)
        assert "我要发言！" not in str(c[name].received)

    # The waiting witness: only the clerk's messages (and its own answer), nothing else of the
    # hearing: no other chat, no one's comings and goings, no mute.
    assert chat_texts(witness) == ["证人请稍候。", "收到。"]
    for ev in witness.events():
        if ev["type"] == "chat_message":
            assert ids["clerk"] in (ev["sender"], ev["to"].removeprefix("participant:")), ev
        elif ev["type"] != "phase_changed":
            assert ev.get("participant") == ids["witness"], ev
    assert witness.last_state()["participants"] == [
        p for p in witness.last_state()["participants"] if p["participant_id"] == ids["witness"]]

    entries = read_log(server, space.hid)
    logged = [e["event"]["text"] for e in entries if e["event"]["type"] == "chat_message"]
    assert logged == [*hearing, "请法庭注意时间。", "证人请稍候。", "收到。", last]
    muted = [e for e in entries if e["event"]["type"] == "command_rejected" and e["event"]["code"] == "chat_muted"]
    assert [e["actor"] for e in muted] == [ids["p007"]]
    assert [e["event"]["muted"] for e in entries if e["event"]["type"] == "chat_mute_changed"] == [True]
    t = asyncio.get_running_loop().time()
    await space.close()
    await disconnected(server, space.hid, N)
    print(f"100 disconnects logged in {asyncio.get_running_loop().time() - t:.1f} s")


async def disconnected(server: Server, hid: str, n: int) -> None:
    """Wait until the log shows ``n`` participants disconnected (the server is done with them)."""
    for _ in range(600):
        entries = await asyncio.to_thread(read_log, server, hid)
        if sum(e["event"]["type"] == "participant_disconnected" for e in entries) >= n:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the server did not finish the disconnects")
