"""Quiet audio is not decoded, end to end over real aiortc peers (media/quiet.py).

A participant publishes a tone, 3 s of room noise at about -80 dBFS, and the tone again; the
aiortc sender puts each packet's level in the ssrc-audio-level extension, as browsers do.
The hub's audio tap must then hand on the quiet stretch as a few ``Silence`` items instead
of 150 decoded frames, and the timeline rebuilt from the tap (decoded audio plus the
silences as zeros) must put the second tone where it was sent. With the skip off, the same
audio is decoded whole.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import numpy as np
import pytest
from media_clients import LoopbackClient, SyntheticAudio, wire

from courtroom.domain.routing import Link, MediaKind, Route
from media.config import IceMode, MediaConfig
from media.hub import MediaHub
from media.quiet import Silence

pytestmark = [pytest.mark.slow]

TONE_S, QUIET_S = 0.6, 3.0


class ToneThenQuiet(SyntheticAudio):
    """Tone (−18 dBFS), room noise (about −80 dBFS), tone, then room noise; 20 ms frames."""

    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(7)
        t = np.arange(960) / 48000
        self._tone = np.repeat((np.sin(2 * np.pi * 440 * t) * 4000).astype(np.int16), 2)
        self._noise = [np.repeat(rng.normal(0, 3, 960).astype(np.int16), 2) for _ in range(8)]

    def samples(self, index: int) -> Any:
        at = index * 0.02
        loud = at < TONE_S or TONE_S + QUIET_S <= at < 2 * TONE_S + QUIET_S
        return (self._tone if loud else self._noise[index % 8]).reshape(1, -1)


async def tap_timeline(quiet_dbov: float | None) -> tuple[np.ndarray, int, int, Any]:
    """(16 kHz timeline, tap items, silences, the decode worker) over 2 * TONE_S + QUIET_S
    + 2.5 s."""
    hub = MediaHub(MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, taps=True,
                               quiet_audio_dbov=quiet_dbov))
    clients = {"speaker": LoopbackClient("speaker", hub, video=False, audio_track=ToneThenQuiet),
               "judge": LoopbackClient("judge", hub, video=False, audio=False)}
    wire(hub, clients)
    try:
        await asyncio.gather(*(c.connect(15) for c in clients.values()))
        await hub.apply_plan(frozenset({Route("speaker", MediaKind.AUDIO, "judge", Link.HEARING)}))
        deadline = time.monotonic() + 10
        while (tap := hub.audio_tap("speaker")) is None:
            assert time.monotonic() < deadline, "no audio tap"
            await asyncio.sleep(0.05)
        timeline, items, silences = await read_tap(tap, 2 * TONE_S + QUIET_S + 2.5)
        decoder = hub._sources[("speaker", MediaKind.AUDIO)].decoder
        assert decoder is not None
        return timeline, items, silences, decoder
    finally:
        for client in clients.values():
            await client.close()
        await hub.close()


async def read_tap(tap: Any, seconds: float) -> tuple[np.ndarray, int, int]:
    """What an audio tap hands on for ``seconds``, as the transcript sees it: (16 kHz timeline,
    with each ``Silence`` as zeros; tap items; silences)."""
    pcm: list[np.ndarray] = []
    items = silences = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            item = await tap.get(timeout=0.5)
        except TimeoutError:
            continue
        items += 1
        if isinstance(item, Silence):
            silences += 1
            pcm.append(np.zeros(item.samples, np.int16))
        else:
            assert item.sample_rate == 16000
            pcm.append(item.to_ndarray().reshape(-1)[: item.samples])
    return np.concatenate(pcm), items, silences


def onsets(timeline: np.ndarray, rate: int = 16000) -> list[int]:
    """Sample indices where the tone starts after at least 1 s without it."""
    loud = np.flatnonzero(np.abs(timeline.astype(np.int32)) > 1000)
    starts = [int(loud[0])] if loud.size else []
    for a, b in itertools.pairwise(loud):
        if b - a > rate:
            starts.append(int(b))
    return starts


@pytest.mark.timeout(60)
async def test_quiet_audio_becomes_silence_on_the_right_clock() -> None:
    timeline, items, silences, decoder = await tap_timeline(-58.0)
    skipped = decoder.quiet.skipped
    assert decoder.quiet.trusted and decoder.mismatches == 0
    first, second = onsets(timeline)[:2]
    # the tone came back TONE_S + QUIET_S after it started, to the 20 ms frame
    assert abs((second - first) / 16000 - (TONE_S + QUIET_S)) <= 0.021, (first, second)
    # the quiet stretch: 1 s decoded (the hold), the rest skipped but for the 0.32 s pre-roll
    assert skipped >= 90, skipped
    assert silences >= 2
    assert items < 2 * TONE_S * 50 + 50 + 16 + 60, items  # far fewer than 50 a second


@pytest.mark.timeout(60)
async def test_with_the_skip_off_every_packet_is_decoded() -> None:
    timeline, items, silences, decoder = await tap_timeline(None)
    first, second = onsets(timeline)[:2]
    assert abs((second - first) / 16000 - (TONE_S + QUIET_S)) <= 0.021
    assert silences == 0 and decoder.quiet is None
    assert items >= (2 * TONE_S + QUIET_S) * 50


@pytest.mark.timeout(60)
async def test_a_publisher_that_marks_its_speech_quiet_is_heard_anyway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client that forges its levels (every packet -127 dBov, the tone included) to keep
    its voice out of the transcript and the loudness check: the first loud frame the tap
    decodes gives it away, and the tap decodes everything it sends."""
    import aiortc.rtp

    monkeypatch.setattr(aiortc.rtp, "compute_audio_level_dbov", lambda frame: -127)
    timeline, items, silences, decoder = await tap_timeline(-58.0)
    assert decoder.mismatches == 1 and not decoder.quiet.trusted
    assert decoder.quiet.skipped == 0  # caught during the hold, before anything was skipped
    first, second = onsets(timeline)[:2]
    assert abs((second - first) / 16000 - (TONE_S + QUIET_S)) <= 0.021
    assert silences == 0 and items >= (2 * TONE_S + QUIET_S) * 50
