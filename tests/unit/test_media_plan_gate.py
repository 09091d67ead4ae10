"""A forwarded track asks the current plan before every frame (issue #11): a frame whose
route the plan no longer holds is never handed to the sender, even if the track was left
enabled, and even if it was already queued."""

from __future__ import annotations

import asyncio

import pytest

from courtroom.domain.routing import Link, MediaKind, Route
from media.config import IceMode, MediaConfig
from media.hub import MediaHub


class _Peer:
    """Just enough of a ServerPeer for MediaHub.open()."""

    def __init__(self) -> None:
        self.outlets: dict[tuple[str, MediaKind, Link], object] = {}
        self.tracks: list[object] = []

    def add_outlet(self, key: tuple[str, MediaKind, Link], track: object) -> None:
        self.outlets[key] = type("Outlet", (), {"track": track})()
        self.tracks.append(track)


OPUS = b"\xfc\xff\xfe"


async def test_a_queued_frame_is_not_sent_once_the_plan_drops_its_route() -> None:
    hub = MediaHub(MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, taps=False, recording_dir=None))
    peer = _Peer()
    hub._peers["witness"] = peer  # type: ignore[assignment]
    route = Route("judge", MediaKind.AUDIO, "witness", Link.HEARING)
    hub.router.apply(frozenset({route}))
    track = peer.tracks[0]
    source = hub.source_hub("judge", MediaKind.AUDIO)
    source.on_frame("audio/opus", 48000, OPUS, 0)
    assert (await asyncio.wait_for(track.recv(), 1)) is not None  # type: ignore[attr-defined]
    assert hub.forwarded("judge", MediaKind.AUDIO, "witness") == 1

    source.on_frame("audio/opus", 48000, OPUS, 960)  # queued, not yet taken by the sender
    hub.router.plan = frozenset()  # the plan moves on (whatever the outlet's enabled flag says)
    source.on_frame("audio/opus", 48000, OPUS, 1920)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(track.recv(), 0.2)  # type: ignore[attr-defined]
    assert hub.forwarded("judge", MediaKind.AUDIO, "witness") == 1
    assert track.refused >= 2  # type: ignore[attr-defined]
    hub._peers.clear()
    await hub.close()
