"""Evidence clips: for every flag the discipline watch raises, a few seconds of the flagged
participant's recording, cut by remux (``media/clips.py``) and kept by hash.

Plugged in as a ``MediaRooms.on_room`` hook: each media room logs when its recording clock
started (``recording_clock_started``, so the review player can place wall-clock events on
that clock) and follows its hearing's log. A ``flag_raised`` schedules a clip of
``[t0 - BEFORE_S, evidence_t + AFTER_S]``. The cut waits until the recorder has *finished*
a segment of that participant reaching past the end (segments are logged with their hashes
when they close, every ~10 s), so a clip is only ever made of hashed, logged files; it runs
in a worker thread, never on the event loop. The outcome is logged: ``evidence_clip_kept``
with the clip's hash and its source files, or ``evidence_clip_missing`` with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media.clips import Clip, NothingToCut, Source, cut

from ..domain.review import EvidenceClipKept, EvidenceClipMissing, RecordingClockStarted
from .court import Court
from .media_bridge import HearingMedia
from .runtime import NotOwner

log = logging.getLogger(__name__)

BEFORE_S = 4.0  # seconds of recording kept before a flag's start
AFTER_S = 4.0  # and after the sample that raised it
POLL_S = 1.0  # how often a room's new log entries are read
SEGMENT_WAIT_S = 25.0  # beyond the clip's end: a segment closes within ~10 s, plus slack


def clips_dir(court: Court, hearing_id: str) -> Path:
    return court.settings.data_dir / "clips" / hearing_id


def sources(court: Court, hearing_id: str, finished: list[dict[str, Any]]) -> list[Source]:
    """``recording_finished`` payloads as clip sources (files of this hearing's folder)."""
    folder = court.settings.data_dir / "recordings" / hearing_id
    return [
        Source(folder / r["file"], r["kind"], float(r["start"]), float(r["end"])) for r in finished
    ]


async def kept_clips(court: Court, hearing_id: str) -> dict[str, str]:
    """flag id -> the SHA-256 of its evidence clip, from the hearing's log."""
    entries = await asyncio.to_thread(court.log.read, hearing_id, 0)
    return {
        e.payload["flag_id"]: e.payload["sha256"] for e in entries if e.type == "evidence_clip_kept"
    }


@dataclass
class _Pending:
    flag_id: str
    participant: str
    t0: float
    t1: float
    deadline: float  # time.monotonic(): cut with what there is by then


class EvidenceClips:
    """Server-wide: one follower task per media room, each with its flags awaiting a clip."""

    def __init__(self, court: Court) -> None:
        self.court = court
        self._tasks: set[asyncio.Task[None]] = set()
        self.kept = 0  # clips logged, for status and tests

    async def on_room(self, room: HearingMedia) -> None:
        clock = room.hub.clock
        event = RecordingClockStarted(clock.origin_utc.isoformat())
        try:
            entries = await room.runtime.record([event])
        except NotOwner:
            return
        follower = _RoomFollower(self, room, entries[-1].seq if entries else room.runtime.head)
        task = asyncio.create_task(follower.run(), name=f"clips-{room.runtime.hearing_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

        async def closing() -> None:
            follower.closing = True  # it finishes the clips still pending, then stops

        room.on_close.append(closing)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class _RoomFollower:
    def __init__(self, keeper: EvidenceClips, room: HearingMedia, after_seq: int) -> None:
        self.keeper = keeper
        self.court = keeper.court
        self.runtime = room.runtime
        self.clock = room.hub.clock
        self.hid = room.runtime.hearing_id
        self.seq = after_seq
        self.closing = False
        self.finished: dict[str, list[dict[str, Any]]] = {}  # participant -> segments
        self.pending: dict[str, _Pending] = {}

    async def run(self) -> None:
        while not (self.closing and not self.pending):
            try:
                await self._step()
            except Exception:
                log.exception("hearing %s: evidence clips step failed", self.hid)
            await asyncio.sleep(POLL_S)

    async def _step(self) -> None:
        for entry in await asyncio.to_thread(self.court.log.read, self.hid, self.seq):
            self.seq = entry.seq
            p = entry.payload
            if entry.type == "recording_finished":
                self.finished.setdefault(p["participant"], []).append(dict(p))
            elif entry.type == "flag_raised":
                self._schedule(p)
        now = time.monotonic()
        for flag_id, job in list(self.pending.items()):
            if self._covered(job) or now >= job.deadline:
                del self.pending[flag_id]
                await self._cut(job)

    def _schedule(self, flag: dict[str, Any]) -> None:
        t0 = max(0.0, float(flag["t0"]) - BEFORE_S)
        t1 = max(float(flag["t0"]), float(flag["evidence_t"])) + AFTER_S
        wait = max(0.0, t1 - self.clock.now()) + SEGMENT_WAIT_S
        self.pending[flag["flag_id"]] = _Pending(
            flag["flag_id"], flag["participant"], t0, t1, time.monotonic() + wait
        )

    def _covered(self, job: _Pending) -> bool:
        """A finished segment of the participant reaches past the clip's end."""
        return any(r["end"] >= job.t1 for r in self.finished.get(job.participant, []))

    async def _cut(self, job: _Pending) -> None:
        files = sources(self.court, self.hid, self.finished.get(job.participant, []))
        event: EvidenceClipKept | EvidenceClipMissing
        try:
            clip: Clip = await asyncio.to_thread(
                cut, files, job.t0, job.t1, clips_dir(self.court, self.hid)
            )
            event = EvidenceClipKept(
                job.flag_id,
                job.participant,
                clip.sha256,
                clip.bytes,
                clip.t0,
                clip.t1,
                clip.sources,
            )
        except NothingToCut as exc:
            event = EvidenceClipMissing(job.flag_id, job.participant, str(exc))
        except Exception as exc:  # a damaged segment must not lose the flag's record
            log.exception("hearing %s: cutting the clip of flag %s failed", self.hid, job.flag_id)
            event = EvidenceClipMissing(
                job.flag_id, job.participant, f"cut failed: {type(exc).__name__}"
            )
        try:
            await self.runtime.record([event])
        except NotOwner:
            log.warning("hearing %s moved: clip of flag %s not logged here", self.hid, job.flag_id)
            return
        if isinstance(event, EvidenceClipKept):
            self.keeper.kept += 1
            log.info("hearing %s: evidence clip of flag %s kept", self.hid, job.flag_id)
