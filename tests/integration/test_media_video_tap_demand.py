"""Only the video someone reads is decoded (media/stages.py ``LatestFrameTap``), on real
aiortc peers through the hub.

Two participants publish video; a reader samples one tap at 1 fps, as the discipline watch
samples a watched participant, and nobody reads the other's (the judge's: the watch never
looks at the bench). The read one must have a frame at the reader's second look (its first
asks the publisher for a keyframe) and be decoded from then on; the unread one must not be
decoded at all, while both are still forwarded to their subscriber.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from media_clients import LoopbackClient, wire

from courtroom.domain.routing import Link, MediaKind, Route
from media.config import IceMode, MediaConfig
from media.hub import MediaHub

pytestmark = [pytest.mark.slow]


@pytest.mark.timeout(60)
async def test_the_unread_tap_is_not_decoded_and_the_read_one_is() -> None:
    hub = MediaHub(MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, taps=True))
    clients = {p: LoopbackClient(p, hub, audio=False, fps=15) for p in ("judge", "party")}
    wire(hub, clients)
    try:
        await asyncio.gather(*(c.connect(15) for c in clients.values()))
        await hub.apply_plan(frozenset({Route("judge", MediaKind.VIDEO, "party", Link.HEARING),
                                        Route("party", MediaKind.VIDEO, "judge", Link.HEARING)}))
        deadline = time.monotonic() + 10
        while hub.video_tap("party") is None or hub.video_tap("judge") is None:
            assert time.monotonic() < deadline, "no video taps"
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.0)  # both publishing, nobody reading yet
        tap = hub.video_tap("party")
        assert tap is not None
        looks = []
        for _ in range(5):  # the watch's ticks
            looks.append(tap.latest())
            await asyncio.sleep(1.0)
        sources = (await hub.diagnostics())["sources"]
    finally:
        for client in clients.values():
            await client.close()
        await hub.close()

    assert looks[0] is None  # the first look finds nothing decoded...
    assert all(look is not None for look in looks[2:])  # ...and a keyframe comes at once
    read, unread = sources["party/video"], sources["judge/video"]
    assert read["tap_decoded"] >= 40, read  # about 15 a second from the keyframe on
    assert unread["tap_decoded"] == 0 and unread["tap_unwanted"] >= 60, unread
    assert read["tap_unwanted"] >= 20  # the 2 s before anyone looked
    for source in (read, unread):  # forwarding never depended on the taps
        assert source["frames_in"] >= 80, source
