"""Runs frame checks off the event loop, keeping only the latest frame per participant.

Per participant at most one frame is being checked and at most one waits. A newer frame
replaces the waiting one, whose ``observe`` call then returns ``None`` (superseded), so a slow
check never builds a backlog of stale frames.

Two modes:

* ``process`` (the server's default): each of ``max_workers`` threads drives one child process
  (:mod:`courtroom.vision.child`) holding its own models; frames go through shared memory. dlib's
  face encoder holds the GIL for 100-160 ms a call, so in a thread it stalls the event loop;
  in a child it cannot. A child that dies is restarted by the thread that saw it die (the
  frame it held returns ``None``), logged, and counted in :meth:`VisionWorker.info`.
* ``thread``: the checks run in threads of the server process, sharing one copy of the models
  (less memory, but the loop stalls during each face encoding; docs/vision.md, "Worker").
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from courtroom.vision import faces as fr
from courtroom.vision.checks import ALL_CHECKS, Check, FrameChecker, FrameObservation
from courtroom.vision.child import ChildDied, VisionChild
from courtroom.vision.detector import Detector, RGBImage

log = logging.getLogger(__name__)


def face_pass_options() -> fr.FaceOptions:
    """The face pass the routine checks use, from ``COURTROOM_VISION_FACE_PASS``."""
    chosen = os.environ.get("COURTROOM_VISION_FACE_PASS", "").lower()
    return fr.FaceOptions(quick_first=chosen != "full",
                          empty_by_detector=chosen != "confirm-empty")


@dataclass(frozen=True, slots=True)
class CheckerConfig:
    """Picklable recipe for a ``FrameChecker`` (process workers build their own)."""

    model_path: Path | None = None
    # COURTROOM_VISION_FACE_PASS=full: no quick first pass (faces.locate); =confirm-empty: the
    # full pass confirms every frame with nobody in it. Both are benches' baselines.
    face_options: fr.FaceOptions = field(default_factory=face_pass_options)
    checks: frozenset[Check] = ALL_CHECKS
    person_crop_pass: bool = True
    # The hand cues of the phone check: off when mediapipe is not installed, or with
    # COURTROOM_VISION_HANDS=0 (saves ~20 ms a sample and ~1 s of CPU at the first hearing).
    hands: bool = field(default_factory=lambda: os.environ.get("COURTROOM_VISION_HANDS") != "0")
    # Face presence and identity only, no YOLOX (its model file is missing).
    faces_only: bool = False

    def build(self) -> FrameChecker:
        from courtroom.vision import hands
        from courtroom.vision.checks import FacesOnlyChecker

        fr.load()
        if self.faces_only:
            return FacesOnlyChecker(self.face_options)
        det = Detector(self.model_path, person_crop_pass=self.person_crop_pass)
        finder = hands.load() if self.hands and Check.PHONE in self.checks else None
        return FrameChecker(det, face_options=self.face_options, checks=self.checks, hands=finder)


def to_rgb(frame: Any) -> RGBImage:
    """An ``av.VideoFrame`` or an RGB array, as an upright HxWx3 uint8 array.

    Phone-recorded video carries its orientation as display-matrix rotation; HOG finds no face
    in a sideways frame, so the rotation is applied here.
    """
    if isinstance(frame, np.ndarray):
        return frame
    rgb = np.asarray(frame.to_ndarray(format="rgb24"))
    k = (int(getattr(frame, "rotation", 0) or 0) // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


@dataclass(slots=True)
class _Job:
    t: float
    frame: Any
    reference: fr.Encoding | None
    checks: frozenset[Check] | None
    future: asyncio.Future[FrameObservation | None]
    queued_at: float = field(default_factory=time.monotonic)  # for /metrics' queue age


class VisionWorker:
    def __init__(
        self,
        config: CheckerConfig | None = None,
        *,
        mode: Literal["thread", "process"] = "thread",
        max_workers: int = 2,
        checker: FrameChecker | None = None,
        on_child_cpu: Callable[[int, float | None], None] | None = None,
        children_at_start: int = 1,
    ) -> None:
        """``on_child_cpu(pid, None)`` when a child starts, ``(pid, cpu_s)`` when it was reaped
        (the server's CPU accounting). Process mode starts the children and waits for their
        models (seconds): build it off the event loop. Raises ``ChildFailed`` when a child
        cannot load them."""
        self.config = config or CheckerConfig()
        self.mode = mode
        self._checker: FrameChecker | None = None
        self.children: list[VisionChild] = []
        self._free: queue.SimpleQueue[VisionChild] = queue.SimpleQueue()
        self.last_restart: str | None = None  # why the latest child restart happened
        self._loader: threading.Thread | None = None
        self._closing = False
        self._max_children = max_workers
        self._load_lock = threading.Lock()
        self._on_child_cpu: Callable[[int, float | None], None] | None = None
        if mode == "thread":
            self._checker = checker or self.config.build()
        else:
            # ``children_at_start`` are waited for (their models failing fail the worker); the
            # others start only when a frame finds every child busy: loading a second copy of
            # the models (seconds of CPU) while the first checks run delayed them on a busy
            # machine, and one hearing's watch rarely needs two.
            self._on_child_cpu = on_child_cpu
            for _ in range(max(1, min(children_at_start, max_workers))):
                self._add(VisionChild(self.config, on_cpu=on_child_cpu))
        # The threads are named vision_*: server/cpu.py counts their CPU as vision.
        self._pool = cf.ThreadPoolExecutor(max_workers, thread_name_prefix="vision")
        self._busy: set[str] = set()
        self._pending: dict[str, _Job] = {}
        self.superseded = 0  # frames replaced before they were checked

    def oldest_wait_s(self) -> float:
        """How long the oldest frame waiting for a worker has waited (0 when none waits)."""
        waits = [job.queued_at for job in list(self._pending.values())]
        return time.monotonic() - min(waits) if waits else 0.0

    @property
    def model_versions(self) -> dict[str, str]:
        if self._checker is not None:
            return self._checker.model_versions
        return dict(self.children[0].model_versions) if self.children else {}

    def info(self) -> dict[str, Any]:
        """For the status API: the mode, the running children and how often one was restarted
        (no pids: the status is public)."""
        out: dict[str, Any] = {"mode": self.mode}
        if self.mode == "process":
            out["processes"] = sum(1 for c in self.children if c.pid is not None)
            out["restarts"] = sum(c.restarts for c in self.children)
            out["last_restart"] = self.last_restart
        return out

    def _add(self, child: VisionChild) -> None:
        self.children.append(child)
        self._free.put(child)

    def _load_one_more(self) -> None:
        """Called from a worker thread that found every child busy: start one more child in
        the background (one at a time, up to ``max_workers``)."""
        with self._load_lock:
            if self._closing or len(self.children) >= self._max_children:
                return
            if self._loader is not None and self._loader.is_alive():
                return
            self._loader = threading.Thread(
                target=self._load, name="vision-loader", daemon=True  # its CPU is vision's
            )
            self._loader.start()

    def _load(self) -> None:
        try:
            self._add(VisionChild(self.config, on_cpu=self._on_child_cpu))
        except Exception:
            log.exception(
                "vision worker: a further checking process failed to start; going on with %d",
                len(self.children),
            )

    def wait_loaded(self, timeout: float | None = None) -> None:
        """Block until every child has loaded (or failed to); for tests and benches."""
        if self._loader is not None:
            self._loader.join(timeout)

    def enroll(self, photo: bytes) -> fr.Encoding:
        """Blocking (run it in a thread): an ID photo's reference encoding, in a child process
        in process mode. Raises ``EnrolmentError`` with the clerk-readable reason."""
        from courtroom.vision import identity as idn

        if self._checker is not None:
            return idn.enroll(photo)
        child = self._borrow()
        try:
            return child.enroll(photo)
        except ChildDied as exc:
            self._restart(child, exc)
            raise idn.EnrolmentError("The check failed; please send the photo again.") from exc
        finally:
            self._free.put(child)

    def _borrow(self) -> VisionChild:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            self._load_one_more()
            return self._free.get()  # the first child free, or the new one once loaded

    def _restart(self, child: VisionChild, exc: ChildDied) -> None:
        # Said in the log and the status; the participant's next sample (or the clerk's next
        # try) goes to the restarted child.
        self.last_restart = f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}: {exc}"
        log.warning("vision worker: a checking process died (%s); restarting it", exc)
        child.restart()
        log.warning("vision worker: checking process restarted (pid %s)", child.pid)

    def _in_child(self, job: _Job) -> FrameObservation | None:
        """Runs on a worker thread: one free child checks the frame; a dead one is restarted."""
        child = self._borrow()
        try:
            return child.observe(job.t, to_rgb(job.frame), job.reference, job.checks)
        except ChildDied as exc:
            self._restart(child, exc)  # the frame is dropped like a superseded one
            return None
        finally:
            self._free.put(child)

    async def observe(
        self,
        participant_id: str,
        t: float,
        frame: Any,
        *,
        reference: fr.Encoding | None = None,
        checks: frozenset[Check] | None = None,
    ) -> FrameObservation | None:
        """Check one frame (``av.VideoFrame`` or RGB array); ``None`` if a newer frame of the
        same participant replaced it before a worker was free, or the child process checking it
        died (it is restarted)."""
        fut: asyncio.Future[FrameObservation | None] = asyncio.get_running_loop().create_future()
        job = _Job(t, frame, reference, checks, fut)
        if participant_id in self._busy:
            old = self._pending.pop(participant_id, None)
            if old is not None:
                self.superseded += 1
                if not old.future.done():
                    old.future.set_result(None)
            self._pending[participant_id] = job
        else:
            self._start(participant_id, job)
        return await fut

    def _start(self, participant_id: str, job: _Job) -> None:
        self._busy.add(participant_id)
        loop = asyncio.get_running_loop()
        if self._checker is not None:
            checker = self._checker

            def run() -> FrameObservation:
                rgb = to_rgb(job.frame)  # yuv->rgb off the loop as well
                return checker.observe(job.t, rgb, reference=job.reference, checks=job.checks)

            done: asyncio.Future[FrameObservation | None] = loop.run_in_executor(self._pool, run)
        else:
            done = loop.run_in_executor(self._pool, self._in_child, job)
        done.add_done_callback(lambda f: self._finished(participant_id, job, f))

    def _finished(
        self, participant_id: str, job: _Job, f: asyncio.Future[FrameObservation | None]
    ) -> None:
        if not job.future.done():
            if f.cancelled():
                job.future.cancel()
            elif (exc := f.exception()) is not None:
                job.future.set_exception(exc)
            else:
                job.future.set_result(f.result())
        nxt = self._pending.pop(participant_id, None)
        if nxt is not None:
            self._start(participant_id, nxt)
        else:
            self._busy.discard(participant_id)

    async def aclose(self) -> None:
        for job in self._pending.values():
            if not job.future.done():
                job.future.set_result(None)
        self._pending.clear()
        loop = asyncio.get_running_loop()
        self._closing = True
        await loop.run_in_executor(None, self.wait_loaded)  # a child still loading: let it
        await loop.run_in_executor(None, self._pool.shutdown, True)
        for child in self.children:  # no check runs now: each child exits on EOF, or is killed
            await loop.run_in_executor(None, child.close)

    async def __aenter__(self) -> VisionWorker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
