"""Runs frame checks off the event loop, keeping only the latest frame per participant.

Per participant at most one frame is being checked and at most one waits. A newer frame
replaces the waiting one, whose ``observe`` call then returns ``None`` (superseded), so a slow
check never builds a backlog of stale frames.

Threads are the default: dlib (HOG, encodings) and onnxruntime release the GIL, so two threads
use two cores, share one copy of the models, and frames are not pickled. A process pool is
available for comparison (``scripts/bench_vision.py --pool``); see docs/vision.md.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from courtroom.vision import faces as fr
from courtroom.vision.checks import ALL_CHECKS, Check, FrameChecker, FrameObservation
from courtroom.vision.detector import Detector, RGBImage


@dataclass(frozen=True, slots=True)
class CheckerConfig:
    """Picklable recipe for a ``FrameChecker`` (process workers build their own)."""

    model_path: Path | None = None
    face_options: fr.FaceOptions = field(default_factory=fr.FaceOptions)
    checks: frozenset[Check] = ALL_CHECKS
    person_crop_pass: bool = True
    # The hand cues of the phone check: off when mediapipe is not installed, or with
    # COURTROOM_VISION_HANDS=0 (saves ~20 ms a sample and ~1 s of CPU at the first hearing).
    hands: bool = field(default_factory=lambda: os.environ.get("COURTROOM_VISION_HANDS") != "0")

    def build(self) -> FrameChecker:
        from courtroom.vision import hands

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


# One checker per worker process, built by the pool initializer: the models cannot be pickled
# per call, and a process pool offers no other per-process slot.
_process_checker: FrameChecker | None = None


def _init_process(config: CheckerConfig) -> None:
    global _process_checker
    _process_checker = config.build()


def _observe_in_process(
    t: float, rgb: RGBImage, reference: fr.Encoding | None, checks: frozenset[Check] | None
) -> FrameObservation:
    assert _process_checker is not None
    return _process_checker.observe(t, rgb, reference=reference, checks=checks)


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
    ) -> None:
        self.config = config or CheckerConfig()
        self.mode = mode
        self._checker: FrameChecker | None = None
        self._pool: cf.Executor
        if mode == "thread":
            self._checker = checker or self.config.build()
            self._pool = cf.ThreadPoolExecutor(max_workers, thread_name_prefix="vision")
        else:
            self._pool = cf.ProcessPoolExecutor(
                max_workers, initializer=_init_process, initargs=(self.config,)
            )
        self._busy: set[str] = set()
        self._pending: dict[str, _Job] = {}
        self.superseded = 0  # frames replaced before they were checked

    def oldest_wait_s(self) -> float:
        """How long the oldest frame waiting for a worker has waited (0 when none waits)."""
        waits = [job.queued_at for job in list(self._pending.values())]
        return time.monotonic() - min(waits) if waits else 0.0

    @property
    def model_versions(self) -> dict[str, str]:
        checker = self._checker or self.config.build()
        return checker.model_versions

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
        same participant replaced it before a worker was free."""
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

            done = loop.run_in_executor(self._pool, run)
        else:
            done = loop.run_in_executor(
                self._pool,
                _observe_in_process,
                job.t,
                to_rgb(job.frame),
                job.reference,
                job.checks,
            )
        done.add_done_callback(lambda f: self._finished(participant_id, job, f))

    def _finished(
        self, participant_id: str, job: _Job, f: asyncio.Future[FrameObservation]
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
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)

    async def __aenter__(self) -> VisionWorker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
