"""ICE consent freshness under a lagging peer (media/aiortc_ice.tolerant_ice_consent).

Two real aioice connections on 127.0.0.1. The controlled side's event loop is made "late":
every datagram it receives is handed to aioice some time after it arrived, as a busy loop
(or a full socket buffer) does. aioice's own rule (each check sent once, 0.5 s, six misses
in a row) then closes a healthy connection; the RFC 7675 rule (retransmit, expire 30 s after
the last answer) keeps it, and still closes one whose peer is gone. The clocks are scaled
down (interval, timeout, expiry) so each case takes seconds, not minutes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aioice
import aioice.ice
import aioice.stun
import pytest

from media import aiortc_ice as internals

pytestmark = pytest.mark.timeout(60)

SCALE = 0.1  # every consent clock at a tenth: interval 0.5 s, RTO 50 ms, expiry 3 s


@pytest.fixture
def fast_consent(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 5 * SCALE)
    monkeypatch.setattr(aioice.stun, "RETRY_RTO", 0.5 * SCALE)
    monkeypatch.setattr(internals, "CONSENT_EXPIRY_S", 30 * SCALE)
    yield


def rule(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Run the connections below with aioice's stock rule or the tolerant one."""
    if name == "tolerant":
        internals.tolerant_ice_consent()  # process-wide and idempotent, as in the server
    else:
        monkeypatch.setattr(aioice.ice.Connection, "query_consent",
                            internals.STOCK_QUERY_CONSENT)


async def connected_pair() -> tuple[aioice.Connection, aioice.Connection]:
    a = aioice.Connection(ice_controlling=True)
    b = aioice.Connection(ice_controlling=False)
    with internals.loopback_ice():
        await a.gather_candidates()
        await b.gather_candidates()
    for x, y in ((a, b), (b, a)):
        for c in y.local_candidates:
            await x.add_remote_candidate(c)
        await x.add_remote_candidate(None)
        x.remote_username, x.remote_password = y.local_username, y.local_password
    await asyncio.gather(a.connect(), b.connect())
    return a, b


def delay_inbound(conn: aioice.Connection, seconds: float | None) -> None:
    """Hand every datagram ``conn`` receives to aioice ``seconds`` late (None: drop it)."""
    loop = asyncio.get_running_loop()
    for protocol in conn._protocols:
        original = protocol.datagram_received

        def late(data: Any, addr: Any, original: Any = original) -> None:
            if seconds is not None:
                loop.call_later(seconds, original, data, addr)

        protocol.datagram_received = late


async def closed_after(conn: aioice.Connection, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if conn._closing:
            return True
        await asyncio.sleep(0.05)
    return bool(conn._closing)


async def test_stock_rule_closes_a_healthy_connection_whose_peer_answers_late(
        fast_consent: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The failure this patch exists for: answers 1.5 RTOs late, every check fails."""
    rule(monkeypatch, "stock")
    a, b = await connected_pair()
    try:
        delay_inbound(b, 0.75 * SCALE)  # b answers a's checks 75 ms late (RTO 50 ms)
        assert await closed_after(a, 60 * SCALE)  # six misses at 0.5 s: gone within 6 s
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_tolerant_rule_keeps_a_connection_whose_peer_answers_late(
        fast_consent: None, monkeypatch: pytest.MonkeyPatch) -> None:
    rule(monkeypatch, "tolerant")
    a, b = await connected_pair()
    try:
        delay_inbound(b, 0.75 * SCALE)
        assert not await closed_after(a, 60 * SCALE)  # twice the expiry: still open
        await a.send(b"still here")  # and it still carries data
        assert await asyncio.wait_for(b.recv(), 5) == b"still here"
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_tolerant_rule_still_expires_a_peer_that_is_gone(
        fast_consent: None, monkeypatch: pytest.MonkeyPatch) -> None:
    rule(monkeypatch, "tolerant")
    a, b = await connected_pair()
    try:
        delay_inbound(b, None)  # b hears nothing any more
        start = asyncio.get_running_loop().time()
        assert await closed_after(a, 60 * SCALE)
        took = asyncio.get_running_loop().time() - start
        # Expiry 3 s after the last answer (up to an interval before the drop), found at
        # most one interval and one check's wait (7.5 RTO-scaled seconds) later.
        assert (30 - 6) * SCALE <= took <= (30 + 6 + 7.5 + 1) * SCALE
    finally:
        await asyncio.gather(a.close(), b.close())
