"""Real aiortc peers on loopback through the real MediaHub: routing, isolation, cuts, reconnects."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterable

import pytest
from media_clients import LoopbackClient, wire

from courtroom.domain.routing import AV, Link, MediaKind, MediaPlan, Route
from media import aiortc_internals as internals
from media.config import IceMode, MediaConfig
from media.hub import MediaHub

pytestmark = [pytest.mark.slow]

PEOPLE = ("judge", "party", "witness", "clerk")
A, V = MediaKind.AUDIO, MediaKind.VIDEO


def mesh(people: Iterable[str], link: Link = Link.HEARING) -> set[Route]:
    people = list(people)
    return {Route(s, k, d, link) for s in people for d in people if s != d for k in AV}


def waiting_room_plan() -> MediaPlan:
    """Witness waits: hearing among judge/party/clerk, supervision clerk <-> witness."""
    return frozenset(mesh(("judge", "party", "clerk")) | mesh(("clerk", "witness"), Link.SUPERVISION))


def called_in_plan() -> MediaPlan:
    return frozenset(mesh(PEOPLE))


class Hearing:
    def __init__(self, hub: MediaHub, clients: dict[str, LoopbackClient]) -> None:
        self.hub = hub
        self.clients = clients

    async def connect(self, *pids: str) -> None:
        await asyncio.gather(*(self.clients[p].connect() for p in pids or self.clients))

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until every client answered every offer the hub sent it."""
        deadline = time.monotonic() + timeout
        while True:
            busy = [p for p in self.clients
                    if (peer := self.hub.peer(p)) is not None and peer._in_flight is not None]
            if not busy:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"negotiation stuck for {busy}")
            await asyncio.sleep(0.02)

    async def inbound(self) -> dict[str, dict[tuple[str, str, str], int]]:
        return {p: await c.inbound_by_route() for p, c in self.clients.items()}


@pytest.fixture
async def hearing() -> AsyncIterator[Hearing]:
    hub = MediaHub(MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY))
    clients = {p: LoopbackClient(p, hub) for p in PEOPLE}
    wire(hub, clients)
    yield Hearing(hub, clients)
    for client in clients.values():
        await client.close()
    await hub.close()


def allowed(plan: MediaPlan, dest: str) -> set[tuple[str, str, str]]:
    return {(r.source, r.kind.value, r.link.value) for r in plan if r.destination == dest}


@pytest.mark.timeout(40)
async def test_each_participant_gets_exactly_its_plan_and_witness_is_isolated(
        hearing: Hearing) -> None:
    await hearing.connect()
    plan = waiting_room_plan()
    await hearing.hub.apply_plan(plan)
    await hearing.settle()
    before = await hearing.inbound()
    await asyncio.sleep(1.5)
    after = await hearing.inbound()

    for pid in PEOPLE:
        want = allowed(plan, pid)
        got = {key for key, n in after[pid].items() if n - before[pid].get(key, 0) > 0}
        assert got == want, pid
        # the client's tracks map never even names a route outside its plan
        assert set(after[pid]) == want, pid

    # the waiting witness: 0 hearing packets, client side and server side ...
    assert all(link != "hearing" for (_, _, link) in after["witness"])
    assert hearing.hub.forwarded_to("witness", Link.HEARING) == 0
    # ... while the supervision link works both ways
    for kind in AV:
        assert hearing.hub.forwarded("clerk", kind, "witness", Link.SUPERVISION) > 0
        assert hearing.hub.forwarded("witness", kind, "clerk", Link.SUPERVISION) > 0
    # more than one track of each kind on one bundled connection (aiortc #868)
    judge_video = [k for k in after["judge"] if k[1] == "video"]
    assert len(judge_video) == 2
    # loopback-only ICE: every nominated pair is 127.0.0.1 <-> 127.0.0.1
    for pid, client in hearing.clients.items():
        server_peer = hearing.hub.peer(pid)
        assert server_peer is not None and client.pc is not None
        for pc in (server_peer.pc, client.pc):
            pairs = internals.selected_candidate_pairs(pc)
            assert pairs and all(p == ("127.0.0.1", "127.0.0.1") for p in pairs), pairs


def assert_on_rtp_path(hub: MediaHub, source: str, destination: str) -> None:
    """The routes' outlets forward on the RTP path, so their counters are its own."""
    peer = hub.peer(destination)
    assert peer is not None
    for kind in (MediaKind.AUDIO, MediaKind.VIDEO):  # cameras and voices; no screen shared here
        outlet = peer.outlets[(source, kind, Link.HEARING)]
        assert outlet.track.down is not None and outlet.track.down.params is not None


def rtp_sent(hub: MediaHub, source: str, destination: str) -> dict[MediaKind, int]:
    """RTP packets the down tracks put on the wire (``hub.counters``, after the plan check)."""
    return {kind: hub.forwarded(source, kind, destination, Link.HEARING) for kind in MediaKind}


async def drained(client: LoopbackClient, *routes: tuple[str, str, str],
                  timeout: float = 5.0) -> float:
    """Wait until the client's inbound counts of ``routes`` stop changing for 200 ms."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        stats = await client.inbound_by_route()
        now = {r: stats.get(r) for r in routes}
        if now == last:
            return time.monotonic()
        last = now
        await asyncio.sleep(0.2)
    raise AssertionError(f"{client.pid} still receiving {routes} after {timeout} s")


async def drained_outside(hearing: Hearing, plan: MediaPlan,
                          timeout: float = 5.0) -> dict[str, dict[tuple[str, str, str], int]]:
    """The clients' inbound counts once every route outside ``plan`` stopped changing."""
    deadline = time.monotonic() + timeout
    last: dict[str, dict[tuple[str, str, str], int]] | None = None
    while True:
        await asyncio.sleep(0.15)
        now = await hearing.inbound()
        outside = {p: {k: n for k, n in c.items() if k not in allowed(plan, p)}
                   for p, c in now.items()}
        if last is not None and outside == last:
            return now
        assert time.monotonic() < deadline, f"still receiving outside the plan: {outside}"
        last = outside


async def _frames_after(client: LoopbackClient, mid: str, t: float) -> int:
    rec = client.received.get(mid)
    return 0 if rec is None else sum(1 for x in rec.frame_times if x > t)


@pytest.mark.timeout(40)
async def test_cut_restore_call_in_send_back(hearing: Hearing) -> None:
    await hearing.connect()
    await hearing.hub.apply_plan(waiting_room_plan())
    await hearing.settle()
    await asyncio.sleep(0.8)
    party = hearing.clients["party"]
    mid = party.mid_for("judge", "video")
    assert mid is not None and await _frames_after(party, mid, 0) > 0

    # cut judge -> party (both kinds): the RTP path sends nothing more within 100 ms
    cut = waiting_room_plan() - {Route("judge", A, "party"), Route("judge", V, "party")}
    assert_on_rtp_path(hearing.hub, "judge", "party")
    t_cut = time.monotonic()
    await hearing.hub.apply_plan(cut)
    assert time.monotonic() - t_cut < 0.1  # no renegotiation on a cut
    offers = party.offers
    sent = rtp_sent(hearing.hub, "judge", "party")  # the down tracks' own counters
    await asyncio.sleep(0.1)
    assert rtp_sent(hearing.hub, "judge", "party") == sent
    await asyncio.sleep(0.6)
    assert rtp_sent(hearing.hub, "judge", "party") == sent
    # Packets already on the wire may still land (late when the machine is loaded; this
    # client shares the test's event loop); once drained, nothing more arrives.
    t_drained = await drained(party, ("judge", "video", "hearing"), ("judge", "audio", "hearing"))
    stats_cut = await party.inbound_by_route()
    await asyncio.sleep(0.6)
    stats_later = await party.inbound_by_route()
    assert stats_later[("judge", "video", "hearing")] == stats_cut[("judge", "video", "hearing")]
    assert stats_later[("judge", "audio", "hearing")] == stats_cut[("judge", "audio", "hearing")]
    assert await _frames_after(party, mid, t_drained + 0.1) == 0
    assert party.offers == offers

    # restore: a decodable picture again within 1 s, still without renegotiation
    t_restore = time.monotonic()
    await hearing.hub.apply_plan(waiting_room_plan())
    deadline = t_restore + 1.0
    while await _frames_after(party, mid, t_restore) == 0:
        assert time.monotonic() < deadline, "no picture within 1 s of restore"
        await asyncio.sleep(0.01)
    assert party.offers == offers

    # call the witness in: hearing tracks arrive (this one needs a renegotiation)
    witness = hearing.clients["witness"]
    t_call = time.monotonic()
    await hearing.hub.apply_plan(called_in_plan())
    deadline = t_call + 2.0
    while True:
        wmid = witness.mid_for("judge", "video")
        if wmid is not None and await _frames_after(witness, wmid, t_call) > 0:
            break
        assert time.monotonic() < deadline, "called-in witness got no judge video in 2 s"
        await asyncio.sleep(0.02)

    # send back: the hearing stops reaching the witness within 100 ms
    await hearing.hub.apply_plan(waiting_room_plan())
    await asyncio.sleep(0.1)
    # The server stops forwarding within 100 ms: that is the enforcement.
    forwarded = hearing.hub.forwarded_to("witness", Link.HEARING)
    await asyncio.sleep(0.5)
    assert hearing.hub.forwarded_to("witness", Link.HEARING) == forwarded
    # Packets already on the wire may still land (late under load); after that, nothing.
    s1 = {k: n for k, n in (await witness.inbound_by_route()).items() if k[2] == "hearing"}
    t_drained = time.monotonic()
    await asyncio.sleep(0.6)
    s2 = {k: n for k, n in (await witness.inbound_by_route()).items() if k[2] == "hearing"}
    assert s1 == s2
    assert await _frames_after(witness, wmid, t_drained + 0.1) == 0
    assert hearing.hub.forwarded("clerk", V, "witness", Link.SUPERVISION) > 0


@pytest.mark.timeout(40)
async def test_late_subscriber_gets_keyframe_within_1s(hearing: Hearing) -> None:
    await hearing.connect("judge", "party")
    await asyncio.sleep(1.5)  # the judge publishes; its encoder's first keyframe is long gone
    party = hearing.clients["party"]
    t0 = time.monotonic()
    await hearing.hub.apply_plan(frozenset({Route("judge", V, "party")}))
    while True:
        mid = party.mid_for("judge", "video")
        rec = party.received.get(mid) if mid else None
        if rec is not None and rec.frames > 0:
            break
        assert time.monotonic() - t0 < 1.0, "no decodable keyframe within 1 s"
        await asyncio.sleep(0.01)
    assert hearing.hub.source_hub("judge", V).keyframes.sent >= 1


@pytest.mark.timeout(40)
async def test_client_that_drops_for_3s_comes_back(hearing: Hearing) -> None:
    await hearing.connect("judge", "party")
    plan = frozenset(mesh(("judge", "party")))
    await hearing.hub.apply_plan(plan)
    await hearing.settle()
    await asyncio.sleep(0.5)
    party, judge = hearing.clients["party"], hearing.clients["judge"]
    await party.drop()
    await asyncio.sleep(3.0)
    t_back = time.monotonic()
    await party.connect()
    await hearing.settle()
    deadline = time.monotonic() + 2.0
    while True:
        pm = party.mid_for("judge", "video")
        jm = judge.mid_for("party", "video")
        if (pm and await _frames_after(party, pm, t_back) > 0
                and jm and await _frames_after(judge, jm, t_back) > 0):
            break
        assert time.monotonic() < deadline, "no media both ways after reconnect"
        await asyncio.sleep(0.02)
    # exactly the plan's routes on the new connection
    assert set(await party.inbound_by_route()) == allowed(plan, "party")


@pytest.mark.timeout(90)
async def test_random_plans_never_leak(hearing: Hearing) -> None:
    """Seeded random admit / dismiss / cut / reconnect sequences: no packet to a non-route."""
    rng = random.Random(20240607)
    await hearing.connect()
    universe = sorted(mesh(PEOPLE) | mesh(("clerk", "witness"), Link.SUPERVISION))
    plan: MediaPlan = frozenset()
    for step in range(8):
        op = rng.choice(["random", "random", "admit", "dismiss", "reconnect"])
        if op == "random":
            plan = frozenset(r for r in universe if rng.random() < 0.4)
        elif op == "admit":
            plan = called_in_plan()
        elif op == "dismiss":
            plan = waiting_room_plan()
        else:
            pid = rng.choice(PEOPLE)
            await hearing.clients[pid].drop()
            await hearing.clients[pid].connect()
        await hearing.hub.apply_plan(plan)
        server_before = dict(hearing.hub.counters.forwarded)
        await hearing.settle()
        # Packets already on the wire before the cut may land (late when the machine is
        # loaded: the clients share this event loop); the enforcement is the server's
        # RTP-path counters below. Wait until the clients drained them.
        client_before = await drained_outside(hearing, plan)
        await asyncio.sleep(0.5)
        client_after = await hearing.inbound()
        for route, n in hearing.hub.counters.forwarded.items():
            if route not in plan:
                assert n == server_before.get(route, 0), (step, op, route)
        for pid in PEOPLE:
            for key, n in client_after[pid].items():
                if key not in allowed(plan, pid):
                    assert n == client_before[pid].get(key, 0), (step, op, pid, key)
        # and every route in the plan delivers, to the server's senders at least
        for route in plan:
            if hearing.hub.peer(route.destination) is not None:
                assert hearing.hub.forwarded(route.source, route.kind, route.destination,
                                             route.link) > server_before.get(route, 0), \
                    (step, op, route)
