"""Loss repair on the forwarding path, with real aiortc peers on loopback.

Regression for the capacity bench: 640x360 VP8 keyframes are 25-200 KB (20-180
RTP packets) sent as one burst. With aiortc's defaults the kernel's ~208 KiB UDP
receive buffer dropped their tails whenever the event loop was busy, and the
NACKs for them arrived after the packets had left the sender's 128-packet RTX
history, so the loss was never repaired and the receivers' jitter buffers stalled.
"""

from __future__ import annotations

import asyncio
import fractions
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamTrack
from media_clients import LoopbackClient, wire

from courtroom.domain.routing import Link, MediaKind, Route
from media import aiortc_internals as internals
from media.config import IceMode, MediaConfig
from media.hub import MediaHub

pytestmark = [pytest.mark.slow]

V = MediaKind.VIDEO


def big_keyframe() -> bytes:
    """A 640x360 VP8 keyframe of noise: 140-210 KB, i.e. more than 100 RTP packets."""
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 640, 360, "yuv420p"
    enc.time_base = fractions.Fraction(1, 90000)
    enc.options = {"deadline": "realtime", "cpu-used": "8"}
    img = np.random.default_rng(7).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
    frame.pts = 0
    data = b"".join(bytes(p) for p in enc.encode(frame))
    assert len(data) > 100 * 1200
    return data


class KeyframeTrack(MediaStreamTrack):  # type: ignore[misc]
    """Publishes the same pre-encoded keyframe at ``fps`` (every frame decodes alone)."""

    kind = "video"

    def __init__(self, data: bytes, fps: int = 5) -> None:
        super().__init__()
        self._data, self._fps = data, fps
        self._i = 0
        self._t0: float | None = None

    async def recv(self) -> Any:
        if self._t0 is None:
            self._t0 = time.monotonic()
        delay = self._t0 + self._i / self._fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        packet = av.Packet(self._data)
        packet.pts, packet.time_base = self._i * 90000 // self._fps, fractions.Fraction(1, 90000)
        self._i += 1
        return packet


@pytest.fixture
async def pair() -> AsyncIterator[tuple[MediaHub, dict[str, LoopbackClient]]]:
    hub = MediaHub(MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, taps=False))
    data = big_keyframe()
    clients = {
        "judge": LoopbackClient("judge", hub, audio=False,
                                video_track=lambda: KeyframeTrack(data)),
        "party": LoopbackClient("party", hub, audio=False, video=False),
    }
    wire(hub, clients)
    await asyncio.gather(*(c.connect() for c in clients.values()))
    await hub.apply_plan(frozenset({Route("judge", V, "party", Link.HEARING)}))
    yield hub, clients
    for client in clients.values():
        await client.close()
    await hub.close()


async def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.02)


@pytest.mark.timeout(30)
async def test_server_sockets_hold_a_keyframe_burst(
        pair: tuple[MediaHub, dict[str, LoopbackClient]]) -> None:
    hub, _ = pair
    rmem_max = int(Path("/proc/sys/net/core/rmem_max").read_text())
    wanted = min(internals.SOCKET_BUFFER_BYTES, rmem_max)
    for pid in ("judge", "party"):
        peer = hub.peer(pid)
        assert peer is not None
        connection = peer.pc.getTransceivers()[0].receiver.transport.transport._connection
        sizes = [p.transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET,
                                                                 socket.SO_RCVBUF)
                 for p in connection._protocols]
        assert sizes and min(sizes) >= wanted  # Linux reports twice the requested size
        assert min(sizes) > 2 * 212992 or rmem_max <= 212992


@pytest.mark.timeout(40)
async def test_late_nack_for_a_big_keyframe_is_still_repaired(
        pair: tuple[MediaHub, dict[str, LoopbackClient]]) -> None:
    """One packet lost, its NACK delayed by a busy receiver for 0.5 s (about 450
    packets later): the server's sender must still have it in its RTX history."""
    hub, clients = pair
    party = clients["party"]
    peer = hub.peer("party")
    assert peer is not None
    outlet = peer.outlets[("judge", V, Link.HEARING)]
    served = internals.FeedbackCounter()
    internals.count_retransmissions(outlet.transceiver.sender, served)

    await _wait(lambda: party.mid_for("judge", "video") in party.received
                and party.received[party.mid_for("judge", "video")].frames >= 3, 10,
                "no video at the subscriber")
    mid = party.mid_for("judge", "video")
    assert party.pc is not None
    receiver = next(t.receiver for t in party.pc.getTransceivers() if t.mid == mid)

    media_ssrc = outlet.transceiver.sender._ssrc  # the media SSRC (RTX uses another)
    dropped: list[int] = []
    handle, send_nack = receiver._handle_rtp_packet, receiver._send_rtcp_nack

    async def lossy(packet: Any, arrival_time_ms: int) -> None:
        if not dropped and packet.ssrc == media_ssrc and not packet.marker:
            dropped.append(packet.sequence_number)  # lost on the wire
            return
        await handle(packet, arrival_time_ms)

    async def late_nack(ssrc: int, lost: list[int]) -> None:
        await asyncio.sleep(0.5)  # the receiving loop was busy
        await send_nack(ssrc, lost)

    receiver._handle_rtp_packet = lossy
    receiver._send_rtcp_nack = late_nack
    before = party.received[mid].frames
    await _wait(lambda: served.retransmit_requests >= 1, 10, "no NACK reached the server")
    await _wait(lambda: party.received[mid].frames >= before + 5, 10,
                "the subscriber's video stalled after one lost packet")
    assert dropped
    assert served.retransmit_misses == 0, "the lost packet had left the RTX history"
