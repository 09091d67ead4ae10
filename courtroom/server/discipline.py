"""The discipline watch and the identity checks inside a live hearing.

One :class:`DisciplineWatch` per server holds the models (one shared :class:`VisionWorker`,
threads) and attaches a :class:`HearingWatch` to every media room (``MediaRooms.on_room``).

Per watched participant a small loop samples the newest decoded frame of their video tap at
``COURTROOM_VISION_FPS`` (default 1), each participant at its own phase of the period
(staggered, :meth:`DisciplineWatch.next_phase`), so a room's checks do not all land on one
tick. Not every tick's frame is checked: :class:`~.watch_pace.WatchPace` checks every tick for a
few seconds after a cue and backs off to one check every few seconds while all is calm, with a
motion gate that checks at once when the picture changes a lot. A frame that is no newer than
the last one sampled is skipped, so nothing stale is ever queued; the worker itself keeps at
most one waiting frame per participant. Observations feed the participant's
:class:`Debouncer`; an opened flag becomes ``flag_raised`` (with a JPEG snapshot of the frame
that opened it, stored by hash under ``<data_dir>/evidence/<hid>/``) and a closed one
``flag_closed``. Times are on the hearing's recording clock, the clock of the recording files.

Who is watched, by presence:

* lobby: identity only (stage ``entry``), when an ID photo is registered;
* waiting room: discipline checks, and identity every ~10 s (stage ``testimony``), so the
  check the domain requires before a call-in is fresh;
* in the hearing: discipline checks, and identity every ~10 s (stage ``patrol``); a sustained
  mismatch there also raises an ``identity_mismatch`` flag.

An identity verdict is the best of a round of a few frames. ``identity_checked`` is logged on the
first verdict of a stage and whenever the verdict changes, not on every round.

Loud noise comes from :meth:`HearingWatch.push_audio`, called by whoever already consumes the
participant's audio tap (the tap has one consumer).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ..config import Settings
from ..domain import events as ev
from ..domain.hearing import ParticipantState
from ..domain.presence import Presence
from ..domain.roles import STAFF, Role
from ..domain.routing import MediaKind
from ..paths import vision_model_path
from .cpu import section, timed
from .identity import IdentityStore, Verdict, best_verdict, frame_verdict, stage_threshold
from .media_bridge import HearingMedia
from .watch_pace import PaceConfig, WatchPace, env_number, luma_thumb

if TYPE_CHECKING:
    # The vision stack (dlib, onnxruntime) loads on the first watched room, not at start-up.
    from ..vision.checks import Check, FrameObservation
    from ..vision.debounce import Debouncer, Flag, FlagKind
    from ..vision.detector import RGBImage
    from ..vision.loudness import LoudnessMeter
    from ..vision.worker import VisionWorker

log = logging.getLogger(__name__)

LOUDNESS_VERSION = "rms-dbfs-250ms"
SAMPLE_RATE = 16_000
# Roles that are not watched: the bench, and those who publish no media.
_UNWATCHED = STAFF | {Role.OBSERVER, Role.KIOSK_SUPERVISOR}
_GOLDEN = 0.6180339887498949
_DISCIPLINE = frozenset({Presence.WAITING_ROOM, Presence.IN_HEARING})
_STAGE = {
    Presence.LOBBY: "entry",
    Presence.WAITING_ROOM: "testimony",
    Presence.IN_HEARING: "patrol",
}


@dataclass(frozen=True)
class WatchConfig:
    fps: float = 1.0
    identity_every_s: float = 10.0  # re-check period in the waiting room and the hearing
    # In the hearing, a participant who matched and has been calm since (watch_pace: no cue)
    # is re-checked this often instead: a takeover is a large change of picture, which makes
    # the pace hot and brings the next round back to identity_every_s after the last one.
    identity_calm_s: float = 30.0
    entry_retry_s: float = 5.0  # after a failed entry round
    round_frames: int = 3  # frames per identity round (best one counts)
    workers: int = 2
    # "process": the checks run in child processes, so that dlib's face encoder (which holds the
    # GIL 100-160 ms a call) cannot stall the event loop; "thread": in the server process.
    worker_mode: Literal["process", "thread"] = "process"
    pace: PaceConfig = field(default_factory=PaceConfig)  # full rate after a cue, slower calm

    @classmethod
    def from_env(cls) -> WatchConfig:
        kw: dict[str, Any] = {}
        for name, key, lo, hi in (("COURTROOM_VISION_FPS", "fps", 0.1, 5.0),
                                  ("COURTROOM_IDENTITY_RECHECK_S", "identity_every_s", 1.0, 3600.0),
                                  ("COURTROOM_IDENTITY_CALM_S", "identity_calm_s", 1.0, 300.0)):
            if (value := env_number(name, lo, hi)) is not None:
                kw[key] = value
        if v := os.environ.get("COURTROOM_VISION_WORKER"):
            if v not in ("process", "thread"):
                raise ValueError(f"COURTROOM_VISION_WORKER must be process or thread, not {v!r}")
            kw["worker_mode"] = "thread" if v == "thread" else "process"
        kw["pace"] = PaceConfig.from_env()
        return cls(**kw)


class DisciplineWatch:
    """Server-wide: the models, the ID photo store and one :class:`HearingWatch` per room."""

    def __init__(self, settings: Settings, config: WatchConfig | None = None) -> None:
        self.settings = settings
        self.config = config or WatchConfig.from_env()
        self.identity = IdentityStore(settings.data_dir)
        self.evidence_root = settings.data_dir / "evidence"
        self.model_path = vision_model_path(settings.models_dir)
        self.detector_available = self.model_path.is_file()
        self.rooms: dict[str, HearingWatch] = {}
        self._worker: VisionWorker | None = None
        self._worker_failed: str | None = None
        self._lock = asyncio.Lock()
        self._loading: asyncio.Task[VisionWorker | None] | None = None
        self._phases = 0

    def next_phase(self, period: float) -> float:
        """Offset of the next watched participant's samples within ``period``: the golden-ratio
        sequence, so any number of participants, arriving in any order, stay spread out."""
        self._phases += 1
        return (self._phases * _GOLDEN) % 1.0 * period

    # -- status -----------------------------------------------------------------------------
    @property
    def cheap_checks(self) -> frozenset[Check]:
        from ..vision.checks import CHEAP_CHECKS, Check

        return CHEAP_CHECKS if self.detector_available else frozenset({Check.FACES})

    def status(self) -> dict[str, Any]:
        checks = ["left_frame", "identity", "loud_noise"]
        if self.detector_available:
            checks += ["extra_person", "phone"]
        if self._worker_failed is not None:
            message = f"vision models failed to load ({self._worker_failed}): watch OFF"
            return {"available": False, "checks": [], "fps": self.config.fps, "message": message}
        worker = self._worker.info() if self._worker is not None else None
        if self.detector_available:
            message = f"all checks on at {self.config.fps:g} fps"
        else:
            message = (
                f"YOLOX model not found at {self.model_path}: the extra-person and phone checks "
                "are OFF (face presence counts faces only); face presence, identity and "
                "loud noise run"
            )
        if worker is not None and worker.get("restarts"):
            message += (
                f"; a checking process was restarted {worker['restarts']} time(s), "
                f"last {worker['last_restart']}"
            )
        return {
            "available": True,
            "detector": self.detector_available,
            "checks": sorted(checks),
            "fps": self.config.fps,
            "message": message,
            # null until the models are loaded (the first watched room, or a node's start-up)
            "worker": worker,
        }

    def startup_lines(self) -> list[str]:
        st = self.status()
        word = "on" if st["available"] and self.detector_available else "PARTIAL"
        return [f"discipline watch: {word}. {st['message']}"]

    def oldest_wait_s(self) -> float:
        """Age of the oldest frame waiting for the vision worker (/metrics)."""
        return self._worker.oldest_wait_s() if self._worker is not None else 0.0

    # -- models -----------------------------------------------------------------------------
    async def worker(self) -> VisionWorker | None:
        """The shared worker, built on first use (loading the models takes a second or two)."""
        if self._worker is not None or self._worker_failed is not None:
            return self._worker
        async with self._lock:
            if self._worker is None and self._worker_failed is None:
                try:
                    self._worker = await asyncio.to_thread(self._build_worker)
                except Exception as exc:
                    self._worker_failed = type(exc).__name__
                    log.exception("discipline watch: the vision models failed to load")
                    print(f"courtroom: {self.startup_lines()[0]}", file=sys.stderr, flush=True)
        return self._worker

    def _build_worker(self) -> VisionWorker:
        from ..vision.worker import CheckerConfig, VisionWorker
        from .cpu import ACCOUNTS

        if self.detector_available:
            config = CheckerConfig(model_path=self.model_path)
        else:
            config = CheckerConfig(faces_only=True)
        return VisionWorker(
            config,
            mode=self.config.worker_mode,
            max_workers=self.config.workers,
            on_child_cpu=ACCOUNTS.child_cpu("vision"),
        )

    # -- rooms ------------------------------------------------------------------------------
    async def on_room(self, room: HearingMedia) -> None:
        if self._worker is None and self._loading is None:
            # Load the models now, at the room's first signal, not when the first video frame
            # is due for a check: the connection's set-up (ICE, DTLS) hides part of the load.
            self._loading = asyncio.create_task(self.worker(), name="vision-models")
        watch = HearingWatch(self, room)
        self.rooms[room.runtime.hearing_id] = watch
        watch.start()

        async def closed() -> None:
            await watch.close()
            self.rooms.pop(room.runtime.hearing_id, None)

        room.on_close.append(closed)

    def push_audio(
        self, hearing_id: str, participant_id: str, t: float, pcm16k_mono: bytes | Any
    ) -> None:
        watch = self.rooms.get(hearing_id)
        if watch is not None:
            watch.push_audio(participant_id, t, pcm16k_mono)

    def on_audio(self, participant_id: str, t: float, pcm16k_mono: bytes) -> None:
        """An ``AudioListener`` for the live transcript (participant ids are server-unique)."""
        for watch in self.rooms.values():
            if participant_id in watch.runtime.state.participants:
                watch.push_audio(participant_id, t, pcm16k_mono)
                return

    async def close(self) -> None:
        for watch in list(self.rooms.values()):
            await watch.close()
        if self._loading is not None:
            await self._loading  # a worker half built would leave its children behind
        if self._worker is not None:
            await self._worker.aclose()
            self._worker = None

    def evidence_path(self, hearing_id: str, sha256: str) -> Path:
        return self.evidence_root / hearing_id / f"{sha256}.jpg"


@dataclass
class _IdTrack:
    photo: str | None = None
    stage: str | None = None
    round: list[Verdict] = field(default_factory=list)
    next_round: float = 0.0  # time.monotonic()
    last_round: float = float("-inf")  # when the last round ended
    recorded: tuple[str, str, bool, str] | None = None  # photo, stage, matched, reason


@dataclass
class _AudioTrack:
    meter: LoudnessMeter
    end: float  # recording-clock time the next chunk should start at


class HearingWatch:
    """The watch over one hearing's media room."""

    def __init__(self, service: DisciplineWatch, room: HearingMedia) -> None:
        self.service = service
        self.config = service.config
        self.room = room
        self.runtime = room.runtime
        self.hub = room.hub
        self.hearing_id = room.runtime.hearing_id
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._spawned: set[asyncio.Task[None]] = set()
        self._debouncers: dict[str, Debouncer] = {}
        self._open: dict[tuple[str, FlagKind], str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._last_frame: dict[str, tuple[RGBImage, float]] = {}
        self._ids: dict[str, _IdTrack] = {}
        self._audio: dict[str, _AudioTrack] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._closed = False
        self.samples = 0  # frames checked, for tests and status
        self.paces: dict[str, WatchPace] = {}  # pid -> when their frames are checked
        self.sampled_at: dict[str, float] = {}  # pid -> monotonic time of the latest tick

    @property
    def watched(self) -> list[str]:
        return list(self._tasks)

    def start(self) -> None:
        self._supervisor = asyncio.create_task(
            timed(self._supervise(), "vision"), name=f"discipline-{self.hearing_id}"
        )

    # -- who is watched ---------------------------------------------------------------------
    def _watched(self, p: ParticipantState) -> bool:
        if p.role in _UNWATCHED or p.presence not in _STAGE:
            return False
        if p.presence is Presence.LOBBY and p.id_photo is None:
            return False  # the lobby is only watched for the identity check
        return self.hub.peer(p.participant_id) is not None

    async def _supervise(self) -> None:
        while True:
            try:
                for pid, p in self.runtime.state.participants.items():
                    if pid not in self._tasks and self._watched(p):
                        self._tasks[pid] = asyncio.create_task(timed(self._watch(pid), "vision"))
                for pid in list(self._tasks):
                    now = self.runtime.state.participant(pid)
                    if now is None or not self._watched(now):
                        task = self._tasks.pop(pid)
                        self.paces.pop(pid, None)
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
                        await self._finish(pid)
            except Exception:
                log.exception("hearing %s: discipline supervisor step failed", self.hearing_id)
            await asyncio.sleep(min(1.0, 1.0 / self.config.fps))

    async def _watch(self, pid: str) -> None:
        worker = await self.service.worker()
        if worker is None:
            return
        period = 1.0 / self.config.fps
        last_at: float | None = None
        # Staggered: each watched participant gets its own phase of the period, so the
        # samples of a room (and of all rooms) spread over time instead of queueing together.
        due = time.monotonic() + self.service.next_phase(period)
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        while True:
            self.sampled_at[pid] = time.monotonic()
            try:
                last_at = await self._sample(worker, pid, last_at)
            except Exception:
                log.exception("hearing %s: a discipline sample failed", self.hearing_id)
            due = max(due + period, time.monotonic())  # skip missed ticks, never catch up
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    # -- one sample -------------------------------------------------------------------------
    async def _sample(self, worker: VisionWorker, pid: str, last_at: float | None) -> float | None:
        from ..vision.checks import Check
        from ..vision.worker import to_rgb

        p = self.runtime.state.participant(pid)
        stage = _STAGE.get(p.presence) if p is not None else None
        if p is None or stage is None:
            return last_at  # dismissed, removed or left since the supervisor looked
        if p.silenced(MediaKind.VIDEO):
            await self._finish(pid)  # camera off: a separate matter for the bench
            return last_at
        tap = self.hub.video_tap(pid)
        latest = tap.latest() if tap is not None else None
        if latest is None or latest[1] == last_at:
            return last_at  # nothing new decoded since the last sample
        frame, at = latest
        t = self.hub.clock.at(at)
        checks: set[Check] = set(self.service.cheap_checks) if p.presence in _DISCIPLINE else set()
        reference = None
        track = self._ids.setdefault(pid, _IdTrack())
        if p.id_photo is not None and p.identity != "overridden":
            reference = self.service.identity.reference(self.hearing_id, pid)
        pace = self.paces.setdefault(pid, WatchPace(self.config.pace))
        now = time.monotonic()
        if reference is not None and p.id_photo is not None:
            if (track.photo, track.stage) != (p.id_photo, stage):
                track.photo, track.stage, track.round, track.next_round = p.id_photo, stage, [], 0.0
            due = track.next_round
            if stage == "patrol" and pace.hot(now):  # something changed: look sooner
                due = min(due, track.last_round + self.config.identity_every_s)
            if now >= due:
                checks |= {Check.FACES, Check.IDENTITY}
            else:
                reference = None
        if not checks:
            return at
        thumb = luma_thumb(frame) if p.presence in _DISCIPLINE else None
        if reference is None and not pace.due(now, thumb):
            return at  # calm and the picture has not changed much: not this tick
        rgb = await asyncio.to_thread(section("vision", to_rgb), frame)
        obs = await worker.observe(pid, t, rgb, reference=reference, checks=frozenset(checks))
        if obs is None:
            return at  # superseded by a newer frame
        self.samples += 1
        async with self._lock(pid):
            self._last_frame[pid] = (rgb, obs.t)
            if reference is not None and Check.IDENTITY in obs.checks:
                await self._identity(pid, p, stage, track, obs)
            if p.presence in _DISCIPLINE:
                if stage != "patrol":
                    obs = dataclasses.replace(obs, identity_distance=None)
                debouncer = self._debouncer(pid, worker)
                flags = debouncer.feed(obs)
                pace.observed(now, thumb, (obs.faces, obs.persons, bool(obs.phone_score)))
                if flags or debouncer.open_flags or obs.phone_score:
                    pace.cue(now)  # a flag moved or is open, or a phone is in view: look closely
                await self._apply(pid, flags, (rgb, obs.t))
        return at

    async def _identity(
        self, pid: str, p: ParticipantState, stage: str, track: _IdTrack, obs: FrameObservation
    ) -> None:
        track.round.append(frame_verdict(obs, stage_threshold(stage)))
        verdict = best_verdict(track.round)
        if not verdict.matched and len(track.round) < self.config.round_frames:
            return
        track.round = []
        retry = stage == "entry" and not verdict.matched
        calm = stage == "patrol" and verdict.matched
        track.last_round = time.monotonic()
        track.next_round = track.last_round + (
            self.config.entry_retry_s
            if retry
            else self.config.identity_calm_s if calm else self.config.identity_every_s
        )
        assert p.id_photo is not None
        key = (p.id_photo, stage, verdict.matched, verdict.reason)
        if key == track.recorded:
            return
        track.recorded = key
        from ..vision import faces as fr

        distance = None if verdict.distance is None else round(verdict.distance, 4)
        event = ev.IdentityChecked(
            pid, stage, verdict.matched, distance, verdict.message, fr.MODEL_VERSION
        )
        await self.runtime.record([event])
        log.info(
            "hearing %s: identity %s check of %s: %s",
            self.hearing_id,
            stage,
            pid,
            verdict.reason,
        )

    # -- flags ------------------------------------------------------------------------------
    def _lock(self, pid: str) -> asyncio.Lock:
        return self._locks.setdefault(pid, asyncio.Lock())

    def _debouncer(self, pid: str, worker: VisionWorker | None = None) -> Debouncer:
        from ..vision.debounce import Debouncer

        d = self._debouncers.get(pid)
        if d is None:
            versions = dict(worker.model_versions) if worker is not None else {}
            versions["loudness"] = LOUDNESS_VERSION
            d = self._debouncers[pid] = Debouncer(pid, model_versions=versions)
        return d

    async def _apply(
        self, pid: str, flags: Sequence[Flag], frame: tuple[RGBImage, float] | None = None
    ) -> None:
        """Log opened and closed flags. ``frame``: the frame just checked (it opened the flag);
        otherwise (loud noise) the evidence is the participant's last checked frame, if any."""
        for flag in flags:
            key = (pid, flag.kind)
            if flag.t1 is None:
                if key in self._open:
                    continue
                evidence = frame or self._last_frame.get(pid)
                sha, evidence_t = "", flag.evidence_frame_t
                if evidence is not None:
                    sha = await asyncio.to_thread(
                        section("vision", self._store_evidence), evidence[0]
                    )
                    evidence_t = evidence[1]
                flag_id = "f-" + secrets.token_hex(6)
                self._open[key] = flag_id
                raised = ev.FlagRaised(
                    flag_id,
                    pid,
                    flag.kind.value,
                    round(flag.t0, 3),
                    float(flag.confidence),
                    {k: str(v) for k, v in flag.model_versions.items()},
                    sha,
                    round(evidence_t, 3),
                )
                await self.runtime.record([raised])
                log.info(
                    "hearing %s: flag %s (%s) raised", self.hearing_id, flag_id, flag.kind.value
                )
            else:
                flag_id_closed = self._open.pop(key, None)
                if flag_id_closed is not None:
                    await self.runtime.record([ev.FlagClosed(flag_id_closed, round(flag.t1, 3))])

    def _store_evidence(self, frame: RGBImage) -> str:
        from ..vision.debounce import snapshot_jpeg

        snap = snapshot_jpeg(frame)
        folder = self.service.evidence_root / self.hearing_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{snap.sha256}.jpg"
        if not path.exists():
            tmp = folder / f".{snap.sha256}.tmp"
            tmp.write_bytes(snap.jpeg)
            os.replace(tmp, path)
        return snap.sha256

    async def _finish(self, pid: str) -> None:
        """Close ``pid``'s open flags now (they left, turned the camera off, or the room closed)."""
        d = self._debouncers.get(pid)
        if d is None or not d.open_flags:
            return
        async with self._lock(pid):
            await self._apply(pid, d.finish(self.hub.clock.now()))

    # -- audio ------------------------------------------------------------------------------
    def push_audio(
        self, participant_id: str, t: float, pcm16k_mono: bytes | npt.NDArray[np.int16]
    ) -> None:
        """Audio the caller already decoded: 16 kHz mono s16 starting at ``t`` (recording
        clock). Call it on the event loop. Loud noise and shouting are debounced like frames."""
        if self._closed:
            return
        p = self.runtime.state.participant(participant_id)
        if p is None or p.role in _UNWATCHED or p.presence not in _DISCIPLINE:
            return
        pcm = (
            np.frombuffer(pcm16k_mono, dtype="<i2")
            if isinstance(pcm16k_mono, bytes)
            else pcm16k_mono
        )
        track = self._audio.get(participant_id)
        from ..vision.loudness import LoudnessMeter

        if track is None or abs(track.end - t) > 0.5:  # first chunk, or a gap: restart windows
            track = self._audio[participant_id] = _AudioTrack(LoudnessMeter(start_t=t), t)
        track.end = t + pcm.size / SAMPLE_RATE
        d = self._debouncer(participant_id, self.service._worker)
        flags: list[Flag] = []
        for obs in track.meter.push(pcm):
            flags += d.feed(obs)
        if flags:
            if (pace := self.paces.get(participant_id)) is not None:
                pace.cue(time.monotonic())  # a loud noise: look at the picture at full rate
            task = asyncio.create_task(self._apply_locked(participant_id, flags))
            self._spawned.add(task)
            task.add_done_callback(self._spawned.discard)

    async def _apply_locked(self, pid: str, flags: list[Flag]) -> None:
        async with self._lock(pid):
            await self._apply(pid, flags)

    # -- shutdown ---------------------------------------------------------------------------
    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        tasks = [t for t in (self._supervisor, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for task in list(self._spawned):
            with contextlib.suppress(Exception):
                await task
        for pid in list(self._debouncers):
            with contextlib.suppress(Exception):
                await self._finish(pid)
        self._tasks.clear()
