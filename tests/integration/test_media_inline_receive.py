"""SRTP received in the socket callback (media/aiortc_receive.py), over real aiortc peers.

A publisher's video and audio go through the hub to a subscriber with the inline path on (the
default) and off (aiortc's queue); then hostile datagrams hit the server peer's own UDP port from
127.0.0.1: empty ones (one of them used to close the DTLS transport, in either mode), short
ones, random bytes under every first-byte range of RFC 7983. The connection must stay up and
the subscriber must keep receiving.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from typing import Any

import pytest
from media_clients import LoopbackClient, wire

from courtroom.domain.routing import Link, MediaKind, Route
from media import aiortc_receive
from media.config import IceMode, MediaConfig
from media.hub import MediaHub

pytestmark = [pytest.mark.slow]


async def _hearing(inline: bool) -> tuple[MediaHub, dict[str, LoopbackClient]]:
    hub = MediaHub(MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, taps=False,
                               inline_receive=inline))
    clients = {"witness": LoopbackClient("witness", hub),
               "judge": LoopbackClient("judge", hub, video=False, audio=False)}
    wire(hub, clients)
    await asyncio.gather(*(c.connect(15) for c in clients.values()))
    await hub.apply_plan(frozenset({
        Route("witness", MediaKind.VIDEO, "judge", Link.HEARING),
        Route("witness", MediaKind.AUDIO, "judge", Link.HEARING),
    }))
    return hub, clients


def _received(client: LoopbackClient) -> dict[str, int]:
    return {r.info.get("kind", "?"): r.frames for r in client.received.values()}


async def _until_flowing(client: LoopbackClient, kinds: set[str]) -> None:
    deadline = time.monotonic() + 15
    while not all(_received(client).get(k, 0) > 0 for k in kinds):
        assert time.monotonic() < deadline, _received(client)
        await asyncio.sleep(0.1)


def _server_transport(hub: MediaHub, participant: str) -> Any:
    peer = hub.peer(participant)
    assert peer is not None
    return peer.pc.getTransceivers()[0].receiver.transport


def _server_port(dtls: Any) -> int:
    pair = next(iter(dtls.transport._connection._nominated.values()))
    return int(pair.local_candidate.port)


def _hostile_datagrams(rng: random.Random) -> list[bytes]:
    out = [b"", b"", b"\x80", b"\x80\xc8", b"\x16", b"\x00\x01"]
    for _ in range(400):
        first = rng.choice([0, 1, 3, 20, 22, 63, 64, 127, 128, 0x90, 191, 192, 255])
        second = rng.choice([96, 111, 200, 201, 205, 206, rng.randrange(256)])
        size = rng.choice([0, 1, 10, 12, 100, 1200])
        out.append(bytes([first, second]) + rng.randbytes(size))
    return out


@pytest.mark.timeout(90)
@pytest.mark.parametrize("inline", [True, False], ids=["inline", "queued"])
async def test_media_flows_and_survives_hostile_datagrams(inline: bool) -> None:
    hub, clients = await _hearing(inline)
    judge = clients["judge"]
    try:
        await _until_flowing(judge, {"video", "audio"})
        dtls = _server_transport(hub, "witness")
        connection = dtls.transport._connection
        marked = getattr(connection, aiortc_receive._INLINE_MARK, None)
        assert (marked is dtls) if inline else (marked is None)
        packets_before = dtls._get_stats().get(dtls._stats_id).packetsReceived
        port = _server_port(dtls)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for i, data in enumerate(_hostile_datagrams(random.Random(13))):
                sock.sendto(data, ("127.0.0.1", port))
                if i % 40 == 0:
                    await asyncio.sleep(0.01)
        finally:
            sock.close()
        await asyncio.sleep(0.5)
        before = _received(judge)
        await asyncio.sleep(2.0)
        after = _received(judge)
        assert dtls.state == "connected"
        # 2 s of 15 fps video and 50 audio frames a second still arrive
        assert after["video"] - before["video"] >= 20, (before, after)
        assert after["audio"] - before["audio"] >= 70, (before, after)
        # the transport's counts are kept on the inline path as on aiortc's
        assert dtls._get_stats().get(dtls._stats_id).packetsReceived > packets_before + 100
    finally:
        for client in clients.values():
            await client.close()
        await hub.close()


@pytest.mark.timeout(60)
async def test_a_packet_that_breaks_its_handler_is_dropped_not_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On aiortc's own path an exception while handling one packet closes the transport; inline,
    that packet is dropped, the failure is logged once (its type, nothing from the packet) and
    the connection goes on."""
    hub, clients = await _hearing(True)
    judge = clients["judge"]
    try:
        await _until_flowing(judge, {"video", "audio"})
        dtls = _server_transport(hub, "witness")
        original = dtls._handle_rtp_data
        failures = 0

        async def sometimes_broken(data: bytes, arrival_time_ms: int) -> None:
            nonlocal failures
            if failures < 5:
                failures += 1
                raise KeyError("handler bug")
            await original(data, arrival_time_ms=arrival_time_ms)

        dtls._handle_rtp_data = sometimes_broken
        with caplog.at_level(logging.WARNING, logger="media.aiortc_receive"):
            before = _received(judge)
            await asyncio.sleep(2.0)
            after = _received(judge)
        assert failures == 5
        assert dtls.state == "connected"
        assert after["video"] - before["video"] >= 20, (before, after)
        warnings = [r.getMessage() for r in caplog.records if r.name == "media.aiortc_receive"]
        assert warnings == ["an SRTP packet could not be handled (KeyError); later failures on "
                            "this transport are not logged"]
    finally:
        for client in clients.values():
            await client.close()
        await hub.close()
