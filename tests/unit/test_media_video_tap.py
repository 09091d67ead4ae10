"""A video tap decodes only while someone reads it (media/stages.py ``LatestFrameTap``).

Real VP8 frames through a real ``DecodeWorker``; the keyframe requests it makes are counted
where the hub would send a PLI, and checked to arrive on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import threading
import time

from test_media_forward import vp8_frames

from media.forward import EncodedFrame, is_keyframe
from media.stages import DecodeWorker, LatestFrameTap

FRAMES = vp8_frames(40, gop=10)  # keyframes at 0, 10, 20, 30


class Requests:
    """Keyframe requests, with the thread each was made on."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def __call__(self) -> None:
        self.threads.append(threading.current_thread().name)


def frame(i: int) -> EncodedFrame:
    data = FRAMES[i]
    return EncodedFrame("video/VP8", 90000, data, i * 6000, is_keyframe("video/VP8", data),
                        time.monotonic(), 1)


async def feed(worker: DecodeWorker, frames: range) -> None:
    """Offered at a camera's pace, more or less: the decoder's queue holds 8 frames."""
    for i in frames:
        worker.offer(frame(i))
        await asyncio.sleep(0.01)


async def settle(worker: DecodeWorker, decoded: int) -> None:
    deadline = time.monotonic() + 3
    while worker.decoded < decoded and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)


async def test_nothing_is_decoded_before_anyone_looks() -> None:
    tap, asked = LatestFrameTap(), Requests()
    worker = DecodeWorker("video", video_tap=tap, on_gap=asked)
    try:
        await feed(worker, range(12))
        await asyncio.sleep(0.2)
        assert worker.decoded == 0 and worker.unwanted == 12 and tap.frames_seen == 0
        assert asked.threads == []  # nobody asked: no keyframe requested either
    finally:
        await asyncio.to_thread(worker.close)


async def test_a_reader_starts_decoding_at_the_next_keyframe_and_asks_for_one() -> None:
    tap, asked = LatestFrameTap(), Requests()
    worker = DecodeWorker("video", video_tap=tap, on_gap=asked)
    try:
        for i in range(3):
            worker.offer(frame(i))
        assert tap.latest() is None  # the first read: nothing yet
        await asyncio.sleep(0.05)
        assert asked.threads == [threading.current_thread().name]  # one request, on the loop
        await feed(worker, range(3, 14))  # 3..9 wait for the keyframe at 10; 10..13 decode
        await settle(worker, 4)
        assert worker.decoded == 4 and worker.unwanted == 3
        latest = tap.latest()
        assert latest is not None and latest[0].width == 64
        assert len(asked.threads) == 1  # reading on does not ask again
    finally:
        await asyncio.to_thread(worker.close)


async def test_an_idle_tap_stops_decoding_and_forgets_its_frame() -> None:
    tap, asked = LatestFrameTap(idle_s=0.3), Requests()
    worker = DecodeWorker("video", video_tap=tap, on_gap=asked)
    try:
        tap.latest()
        await feed(worker, range(10, 15))
        await settle(worker, 5)
        assert worker.decoded == 5 and tap.frames_seen == 5
        await asyncio.sleep(0.4)  # nobody reads for longer than idle_s
        await feed(worker, range(15, 25))
        await asyncio.sleep(0.2)
        assert worker.decoded == 5 and worker.unwanted == 10
        # the reader comes back: no picture from before the pause, and a keyframe is asked for
        assert tap.latest() is None
        await asyncio.sleep(0.05)
        assert len(asked.threads) == 2
        await feed(worker, range(25, 32))  # 25..29 wait for the keyframe at 30
        await settle(worker, 7)
        assert worker.decoded == 7
        latest = tap.latest()
        assert latest is not None and latest[1] > time.monotonic() - 1
    finally:
        await asyncio.to_thread(worker.close)


async def test_a_reader_on_another_thread_asks_for_the_keyframe_on_the_loop() -> None:
    """The public broadcast's studio reads the taps from its own thread."""
    tap, asked = LatestFrameTap(), Requests()
    worker = DecodeWorker("video", video_tap=tap, on_gap=asked)
    try:
        reader = threading.Thread(target=tap.latest, name="broadcast-studio")
        reader.start()
        reader.join()
        await asyncio.sleep(0.05)
        assert asked.threads == [threading.current_thread().name]
    finally:
        await asyncio.to_thread(worker.close)
