"""``VisionWorker(mode="process")``: the checks in child processes (courtroom/vision/child.py),
with the real models. Same answers as in a thread, a killed child restarted, frames of any
shape and size, broken models refused at start, and no child left after ``aclose``."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import scenes

from courtroom.paths import vision_model_path
from courtroom.server import cpu
from courtroom.vision.checks import ALL_CHECKS, CHEAP_CHECKS, Check
from courtroom.vision.child import BUFFER_BYTES, ChildFailed
from courtroom.vision.worker import CheckerConfig, VisionWorker

CONFIG = CheckerConfig(model_path=vision_model_path(), hands=False)


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def running(pid: int | None) -> bool:
    """Alive: a reaped or zombie process has no command line."""
    return pid is not None and bool(cmdline(pid))


async def start(**kw: object) -> VisionWorker:
    # Loading the models takes seconds: off the loop, as the server does.
    return await asyncio.to_thread(VisionWorker, CONFIG, mode="process", **kw)  # type: ignore[arg-type]


@pytest.mark.timeout(240)
async def test_same_answers_as_threads_restart_after_sigkill_and_clean_close() -> None:
    two = scenes.letterbox(scenes.two_teens())
    ref_img = scenes.letterbox(scenes.man(2))
    before = cpu.ACCOUNTS.snapshot()["components_s"]["vision"]
    worker = await start(on_child_cpu=cpu.ACCOUNTS.child_cpu("vision"), children_at_start=2)
    thread = VisionWorker(CONFIG, mode="thread", max_workers=1)
    try:
        assert worker.info() == {"mode": "process", "processes": 2, "restarts": 0,
                                 "last_restart": None}
        assert set(worker.model_versions) >= {"detector", "faces"}
        assert worker.model_versions == thread.model_versions
        from courtroom.vision import faces as fr

        reference = fr.encodings(ref_img)[0][1]
        for rgb, checks in [(two, CHEAP_CHECKS), (ref_img, ALL_CHECKS)]:
            a = await worker.observe("p1", 1.0, rgb, reference=reference, checks=checks)
            b = await thread.observe("p1", 1.0, rgb, reference=reference, checks=checks)
            assert a is not None and b is not None
            assert (a.faces, a.persons, a.phone_score) == (b.faces, b.persons, b.phone_score)
            assert a.identity_distance == pytest.approx(b.identity_distance)
            assert a.face_boxes == b.face_boxes
        assert (await worker.observe("p1", 2.0, two, checks=CHEAP_CHECKS)).faces == 2  # type: ignore[union-attr]

        # SIGKILL both children: the frames they held come back None, they are restarted, and
        # the next frames are checked again.
        first = [c.pid for c in worker.children]
        for pid in first:
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
        lost = await asyncio.gather(
            worker.observe("p1", 3.0, two, checks=CHEAP_CHECKS),
            worker.observe("p2", 3.0, two, checks=CHEAP_CHECKS),
        )
        assert lost == [None, None]
        info = worker.info()
        assert info["restarts"] == 2 and info["processes"] == 2
        assert "killed by signal 9" in info["last_restart"]
        assert not {c.pid for c in worker.children} & set(first)
        again = await worker.observe("p1", 4.0, two, checks=CHEAP_CHECKS)
        assert again is not None and again.faces == 2
    finally:
        pids = [c.pid for c in worker.children]
        await worker.aclose()
        await thread.aclose()
    assert not [p for p in pids if running(p)], "a child outlived aclose"
    # Six children's model loads and checks, all under vision (the killed ones too).
    assert cpu.ACCOUNTS.snapshot()["components_s"]["vision"] - before > 1.0


@pytest.mark.timeout(240)
async def test_hostile_frames_and_a_crash_inside_a_check() -> None:
    worker = await start(max_workers=1)
    try:
        # Not contiguous, not uint8, tiny, and bigger than the shared buffer (sent inline).
        two = scenes.letterbox(scenes.two_teens())
        odd = [
            two[:, ::-1],
            two.astype(np.float32),
            np.zeros((1, 1, 3), np.uint8),
            np.zeros((0, 0, 3), np.uint8),
        ]
        big = np.zeros((1200, 2000, 3), np.uint8)
        assert big.nbytes > BUFFER_BYTES
        for i, rgb in enumerate([*odd, big]):
            try:
                o = await worker.observe("p", float(i), rgb, checks=frozenset({Check.FACES}))
            except RuntimeError as exc:  # the child refused it and said why; it lives on
                assert "vision child" in str(exc)
            else:
                assert o is not None and o.faces is not None
        o = await worker.observe("p", 9.0, two, checks=frozenset({Check.FACES}))
        assert o is not None and o.faces == 2 and worker.info()["restarts"] == 0
    finally:
        await worker.aclose()


@pytest.mark.timeout(120)
async def test_broken_models_fail_at_start_and_leave_no_child(tmp_path: Path) -> None:
    bad = tmp_path / "yolox_nano.onnx"
    bad.write_bytes(b"not an onnx model")
    t = time.monotonic()
    with pytest.raises(ChildFailed):
        await asyncio.to_thread(
            VisionWorker, CheckerConfig(model_path=bad, hands=False), mode="process"
        )
    assert time.monotonic() - t < 100
    mine: list[str] = []
    for task in os.listdir("/proc/self/task"):  # a child belongs to the thread that forked it
        mine += Path(f"/proc/self/task/{task}/children").read_text().split()
    assert not [p for p in mine if running(int(p)) and "vision.child" in cmdline(int(p))]


@pytest.mark.timeout(180)
async def test_id_photos_are_enrolled_in_the_child() -> None:
    """The ID photo is decoded and encoded in a child (the face encoder holds the GIL; an
    untrusted image that crashes a decoder takes only the child): same encoding as in-process,
    the clerk's reasons for unusable photos, and the child still there afterwards."""
    from courtroom.vision import identity as idn

    worker = await start(max_workers=1)
    try:
        photo = scenes.jpeg(scenes.girl())
        here = idn.enroll(photo)
        there = await asyncio.to_thread(worker.enroll, photo)
        # Enrolment jitters the face (dlib's random jitter, a sequence per process): the same
        # face, not the same bits (0.06 apart measured; different people are >= 0.536).
        from courtroom.vision import faces as fr

        assert fr.distance(here, there) < 0.2, fr.distance(here, there)
        for bad, reason in [
            (scenes.jpeg(scenes.empty_room()), "No face was found"),
            (scenes.jpeg(scenes.two_teens()), "several faces"),
            (b"\xff\xd8\xff" + b"\x00" * 1000, "not a readable image"),
            (b"", "not a readable image"),
        ]:
            with pytest.raises(idn.EnrolmentError) as refused:
                await asyncio.to_thread(worker.enroll, bad)
            assert reason in refused.value.reason
        o = await worker.observe("p", 1.0, scenes.letterbox(scenes.two_teens()), checks=CHEAP_CHECKS)
        assert o is not None and o.faces == 2 and worker.info()["restarts"] == 0
    finally:
        await worker.aclose()
