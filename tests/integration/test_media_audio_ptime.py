"""40 ms audio packets, as browsers send them when the offer asks (media/peer.py
``ask_audio_ptime``), go through the hub whole: forwarded one for one, recorded on the right
clock, and decoded for the transcript on the right clock.

A real aiortc peer publishes pre-encoded Opus in 40 ms packets (libopus, as a browser's
encoder makes them): a tone, 3 s of quiet, the tone again. The judge's peer must receive one
packet per packet sent (none re-cut to 20 ms), the hub's audio tap must put the second tone
3.6 s after the first (to the 40 ms packet), and so must the recording.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack
from media_clients import LoopbackClient, wire
from test_media_quiet_audio import onsets, read_tap

from courtroom.domain.routing import Link, MediaKind, Route
from media.config import IceMode, MediaConfig
from media.hub import MediaHub
from media.recording import FinishedFile

pytestmark = [pytest.mark.slow]

PTIME_S, TONE_S, QUIET_S, TAIL_S = 0.04, 0.6, 3.0, 1.6
STEP = round(48000 * PTIME_S)  # samples per packet


def opus_40ms() -> list[bytes]:
    """Tone (-18 dBFS), quiet (about -80 dBFS), tone, quiet: 48 kHz stereo, 40 ms packets."""
    rng = np.random.default_rng(3)
    t = np.arange(round(48000 * TONE_S)) / 48000
    tone = (np.sin(2 * np.pi * 440 * t) * 4000).astype(np.int16)
    quiet = rng.normal(0, 3, round(48000 * QUIET_S)).astype(np.int16)
    tail = rng.normal(0, 3, round(48000 * TAIL_S)).astype(np.int16)
    mono = np.concatenate([tone, quiet, tone, tail])
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "stereo", "s16"
    enc.time_base = fractions.Fraction(1, 48000)
    enc.options = {"frame_duration": "40"}
    out: list[bytes] = []
    for i in range(0, len(mono) - STEP + 1, STEP):
        frame = av.AudioFrame.from_ndarray(np.repeat(mono[i:i + STEP], 2).reshape(1, -1),
                                           format="s16", layout="stereo")
        frame.sample_rate, frame.pts = 48000, i
        out.extend(bytes(p) for p in enc.encode(frame))
    out.extend(bytes(p) for p in enc.encode(None))
    return out


class Packets40(MediaStreamTrack):  # type: ignore[misc]
    """The packets above, paced in real time; aiortc sends pre-encoded packets as they are."""

    kind = "audio"

    def __init__(self, packets: list[bytes]) -> None:
        super().__init__()
        self.packets, self.sent = packets, 0
        self._t0: float | None = None

    async def recv(self) -> Any:
        if self.sent >= len(self.packets):
            self.stop()
            raise asyncio.CancelledError  # nothing more to send
        self._t0 = self._t0 or time.monotonic()
        delay = self._t0 + self.sent * PTIME_S - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        packet = av.Packet(self.packets[self.sent])
        packet.pts, packet.time_base = self.sent * STEP, fractions.Fraction(1, 48000)
        self.sent += 1
        return packet


@pytest.mark.timeout(60)
async def test_40ms_packets_are_forwarded_recorded_and_transcribed_on_the_right_clock(
    tmp_path: Path,
) -> None:
    packets = opus_40ms()
    assert len(packets) * PTIME_S >= 2 * TONE_S + QUIET_S + TAIL_S - 0.1
    done: list[FinishedFile] = []
    hub = MediaHub(MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, taps=True, recording_dir=tmp_path),
                   hearing="h1", on_recording=done.append)
    track = Packets40(packets)
    clients = {"speaker": LoopbackClient("speaker", hub, video=False, audio_track=lambda: track),
               "judge": LoopbackClient("judge", hub, video=False, audio=False)}
    wire(hub, clients)
    try:
        await asyncio.gather(*(c.connect(15) for c in clients.values()))
        await hub.apply_plan(frozenset({Route("speaker", MediaKind.AUDIO, "judge", Link.HEARING)}))
        deadline = time.monotonic() + 10
        while (tap := hub.audio_tap("speaker")) is None:
            assert time.monotonic() < deadline, "no audio tap"
            await asyncio.sleep(0.05)
        timeline, _, _ = await read_tap(tap, len(packets) * PTIME_S + 2.0)
        received = (await clients["judge"].inbound_by_route()).get(("speaker", "audio", "hearing"), 0)
    finally:
        for client in clients.values():
            await client.close()
        await hub.close()

    # forwarded one for one (a few may be lost to the start of the subscription)
    assert track.sent == len(packets)
    assert len(packets) - 10 <= received <= len(packets), (received, len(packets))
    # the transcript's clock: the tone came back TONE_S + QUIET_S later, to the packet
    first, second = onsets(timeline)[:2]
    assert abs((second - first) / 16000 - (TONE_S + QUIET_S)) <= PTIME_S + 0.001, (first, second)
    # the recording's clock: the same, and as long as what was sent
    (audio,) = [f for f in done if f.participant == "speaker" and f.kind == "audio"]
    with av.open(str(audio.path)) as container:
        frames = list(container.decode(audio=0))
    recorded = np.concatenate([f.to_ndarray()[0] for f in frames])  # first channel
    if recorded.dtype.kind == "f":  # libopus decodes to float in [-1, 1]
        recorded = recorded * 32768
    rate = frames[0].sample_rate
    r1, r2 = onsets(recorded, rate)[:2]
    assert abs((r2 - r1) / rate - (TONE_S + QUIET_S)) <= PTIME_S + 0.001, (r1, r2)
    assert abs(len(recorded) / rate - len(packets) * PTIME_S) <= 0.25
