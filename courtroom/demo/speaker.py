"""A device's microphone in the scripted demo: a speech clip, sent over real WebRTC.

The peer answers the server's offers exactly as the browser client does (the server always
offers; the device answers and adds its microphone), so the clip reaches the server's media
hub, its recorder and its live transcript like anyone's voice.
"""

from __future__ import annotations

import asyncio
import fractions
import time
import wave
from pathlib import Path
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from media import aiortc_internals as internals
from media.config import IceMode, MediaConfig
from media.peer import filter_loopback_candidates, rtc_configuration

from .device import Device, Message

CLIPS = Path(__file__).resolve().parent / "clips"
RATE = 16_000
FRAME = 320  # 20 ms
LOOPBACK = MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY)


def read_clip(name: str) -> bytes:
    """16 kHz mono s16 PCM of a clip shipped with the demo."""
    with wave.open(str(CLIPS / name), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2)
        return w.readframes(w.getnframes())


class ClipTrack(MediaStreamTrack):
    """The clip as a live microphone, in real time, then silence."""

    kind = "audio"

    def __init__(self, pcm: bytes, lead_s: float = 0.5) -> None:
        super().__init__()
        self._pcm = bytes(2 * int(lead_s * RATE)) + pcm
        self._n = 0
        self._start: float | None = None
        self.duration_s = len(self._pcm) / 2 / RATE

    async def recv(self) -> Any:
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._n * FRAME / RATE - time.monotonic()))
        chunk = self._pcm[self._n * FRAME * 2 : (self._n + 1) * FRAME * 2].ljust(FRAME * 2, b"\0")
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(chunk)
        frame.sample_rate = RATE
        frame.pts = self._n * FRAME
        frame.time_base = fractions.Fraction(1, RATE)
        self._n += 1
        return frame


class Speaker:
    """One device's WebRTC peer, publishing ``track`` and nothing else."""

    def __init__(self, device: Device, track: ClipTrack) -> None:
        self.device, self.track = device, track
        self.pc: Any = None
        self._published = False
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task = asyncio.create_task(self._run())
        device.on_signal = self._inbox.put_nowait

    async def connect(self, timeout: float = 20.0) -> None:
        await self.device.send({"v": 1, "type": "signal", "data": {"type": "hello"}})
        deadline = time.monotonic() + timeout
        while self.pc is None or self.pc.connectionState != "connected":
            if time.monotonic() > deadline or self._task.done():
                raise TimeoutError("the media connection did not come up")
            await asyncio.sleep(0.05)

    async def _run(self) -> None:
        while True:
            msg = await self._inbox.get()
            if msg["type"] == "config":
                await self._close_pc()
                self.pc = RTCPeerConnection(rtc_configuration(LOOPBACK, msg["iceServers"]))
                self._published = False
            elif msg["type"] == "offer" and self.pc is not None:
                await self._answer(msg)

    async def _answer(self, offer: Message) -> None:
        sdp = filter_loopback_candidates(offer["sdp"])
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if not self._published:  # on the offer's transceiver, as the browser client does
            self._published = True
            self.pc.addTrack(self.track)
        answer = await self.pc.createAnswer()
        with internals.loopback_ice(True):
            await self.pc.setLocalDescription(answer)
        data = {"type": "answer", "sdp": self.pc.localDescription.sdp, "seq": offer["seq"]}
        await self.device.send({"v": 1, "type": "signal", "data": data})

    async def _close_pc(self) -> None:
        if self.pc is not None:
            await self.pc.close()
            self.pc = None

    async def close(self) -> None:
        self._task.cancel()
        self.device.on_signal = None
        await self._close_pc()
