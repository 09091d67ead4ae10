"""Send-back after a reconnect in the hearing (issue #11): the waiting witness's next offer
lists supervision tracks only, and the server's own senders hand the witness 0 hearing
packets after the send-back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from media_clients import LoopbackClient, wire

from courtroom.domain.routing import AV, Link, MediaKind, MediaPlan, Route
from media.config import IceMode, MediaConfig
from media.hub import MediaHub

pytestmark = [pytest.mark.slow]

PEOPLE = ("judge", "party", "witness", "clerk")


def mesh(people: Iterable[str], link: Link = Link.HEARING) -> set[Route]:
    people = list(people)
    return {Route(s, k, d, link) for s in people for d in people if s != d for k in AV}


WAITING: MediaPlan = frozenset(
    mesh(("judge", "party", "clerk")) | mesh(("clerk", "witness"), Link.SUPERVISION)
)
CALLED_IN: MediaPlan = frozenset(mesh(PEOPLE))


async def settle(hub: MediaHub, timeout: float = 8.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while any((p := hub.peer(pid)) is not None and p._in_flight is not None for pid in PEOPLE):
        assert asyncio.get_running_loop().time() < deadline, "negotiation stuck"
        await asyncio.sleep(0.02)


async def packets_sent(sender: Any) -> int:
    report = await sender.getStats()
    return sum(s.packetsSent for s in report.values() if s.type == "outbound-rtp")


@pytest.fixture
async def hub() -> AsyncIterator[tuple[MediaHub, dict[str, LoopbackClient]]]:
    hub = MediaHub(MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, taps=False))
    clients = {p: LoopbackClient(p, hub, width=96, height=72, fps=10) for p in PEOPLE}
    wire(hub, clients)
    yield hub, clients
    for client in clients.values():
        await client.close()
    await hub.close()


@pytest.mark.timeout(90)
async def test_reconnect_in_hearing_then_send_back_leaves_only_supervision(
    hub: tuple[MediaHub, dict[str, LoopbackClient]],
) -> None:
    hub_, clients = hub
    witness = clients["witness"]
    await asyncio.gather(*(c.connect(15) for c in clients.values()))
    await hub_.apply_plan(WAITING)  # the clerk is present, the witness waits
    await settle(hub_)
    await hub_.apply_plan(CALLED_IN)
    await settle(hub_)
    await witness.drop()  # the witness reconnects while in the hearing
    await witness.connect(15)
    await settle(hub_)
    peer = hub_.peer("witness")
    assert peer is not None
    hearing = {k: o for k, o in peer.outlets.items() if k[2] is Link.HEARING}
    assert len(hearing) == 6
    await asyncio.sleep(1.0)
    assert sum(o.track.forwarded for o in hearing.values()) > 0  # it really was flowing

    offers = witness.offers
    await hub_.apply_plan(WAITING)  # sent back
    forwarded = {k: o.track.forwarded for k, o in hearing.items()}
    await asyncio.sleep(0.1)  # a frame already handed to aiortc may still leave the socket
    sent = {k: await packets_sent(o.transceiver.sender) for k, o in hearing.items()}
    await settle(hub_)
    await witness.wait_offers(offers + 1)

    # The offer after the send-back names supervision tracks only.
    named = [info for info in witness.tracks.values() if "source" in info]
    assert named and all(info["link"] == "supervision" for info in named), witness.tracks
    assert {info["source"] for info in named} == {"clerk"}
    assert not any(k[2] is Link.HEARING for k in peer.outlets)
    # Every hearing m-line left in the SDP is inactive (an m-line cannot be removed).
    assert peer.pc.localDescription is not None
    for t in peer.pc.getTransceivers():
        if any(t is o.transceiver for o in hearing.values()):
            assert t.direction == "inactive"

    await asyncio.sleep(1.5)
    # The senders' own counters: 0 hearing frames and 0 hearing packets after the send-back.
    assert {k: o.track.forwarded for k, o in hearing.items()} == forwarded
    assert {k: await packets_sent(o.transceiver.sender) for k, o in hearing.items()} == sent
    assert hub_.forwarded("clerk", MediaKind.VIDEO, "witness", Link.SUPERVISION) > 0


@pytest.mark.timeout(150)
async def test_the_same_over_the_hearing_websocket(tmp_path: Any) -> None:
    """Issue #11 as the independent client met it: clerk present -> call in -> the witness
    reconnects in the hearing -> send back. The witness's next offer names supervision only,
    and the server's counters show no hearing packet for the witness after the send-back."""
    from court_client import Client, media_for, registry, running_server, schedule, token_for

    with running_server(tmp_path, args=["--ice-loopback-only"]) as server:
        hid, inv = schedule(server, {"judge": "judge", "clerk": "clerk", "plaintiff": "plaintiff",
                                     "witness": "witness"})
        ids = {name: inv[name]["participant_id"] for name in inv}
        ws = {name: await Client.join(server, token_for(server, inv[name])) for name in inv}
        judge = ws["judge"]
        assert (await judge.command("open_hearing"))["ok"]
        for name in ("plaintiff", "witness"):  # the bench is in the hearing on connect
            assert (await judge.command("admit", participant=ids[name]))["ok"]
        peers = {name: await media_for(ws[name], ids[name]) for name in inv}
        assert (await judge.command("call_in", participant=ids["witness"]))["ok"]
        await asyncio.sleep(1.5)
        # The witness reconnects (a new socket, a new media peer) while in the hearing.
        old = peers.pop("witness")
        old._pump.cancel()  # type: ignore[attr-defined]
        await old.close()
        again = await Client.join(server, ws["witness"].welcome["token"])  # type: ignore[index]
        ws["witness"] = again
        witness = peers["witness"] = await media_for(again, ids["witness"])
        await asyncio.sleep(1.5)
        assert any(info.get("link") == "hearing" for info in witness.tracks.values())

        offers = witness.offers
        assert (await judge.command("send_back", participant=ids["witness"]))["ok"]
        await witness.wait_offers(offers + 1, timeout=10)
        named = [info for info in witness.tracks.values() if "source" in info]
        assert named and all(info["link"] == "supervision" for info in named), witness.tracks
        await asyncio.sleep(0.3)

        def to_witness() -> int:
            with registry(server) as http:
                routes = http.get(f"/api/v1/hearings/{hid}/media").json()["routes"]
            return sum(r["packets"] for r in routes
                       if r["destination"] == ids["witness"] and r["link"] == "hearing")

        before = to_witness()
        await asyncio.sleep(1.5)
        assert to_witness() == before
        for p in peers.values():
            p._pump.cancel()  # type: ignore[attr-defined]
            await p.close()
        for c in ws.values():
            await c.close()
