"""Joins a hearing's runtime to its media hub.

The runtime's media plan is applied to the hub on every change, so the log alone
decides who hears and sees whom. The hub's signalling travels to the participant
through the bus (as a direct message on the hearing's topic), finished recordings
are logged with their hashes, and connection stats are pushed to the bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from media.config import (
    AUDIO_PTIMES_MS,
    DEFAULT_AUDIO_PTIME_MS,
    DEFAULT_QUIET_DBOV,
    IceMode,
    MediaConfig,
)
from media.hub import MediaHub
from media.peer import AnswerRefused
from media.recording import FinishedFile

from ..config import Settings
from ..domain import events as ev
from ..domain.hearing import Actor
from ..domain.routing import MediaKind, MediaPlan
from ..protocol import signal_problem
from .runtime import HearingRuntime

log = logging.getLogger(__name__)

STATS_INTERVAL_S = 2.0


def media_only() -> bool:
    """``COURTROOM_MEDIA_ONLY=1``: forwarding and signalling only (no recording, no decoding
    taps, no live transcript, no discipline watch): the capacity bench's baseline."""
    return os.environ.get("COURTROOM_MEDIA_ONLY", "") in ("1", "true", "yes")


def quiet_audio_dbov() -> float | None:
    """``COURTROOM_QUIET_AUDIO``: ``off`` decodes every audio packet for the taps; a level in
    dBov (-127 to -50, default -58) leaves audio the sender marks quieter undecoded once it has
    been quiet for 1 s (media/quiet.py). Louder than -50 would skip audio the ASR gate opens
    on (speech), so it is refused like any value that does not parse."""
    raw = os.environ.get("COURTROOM_QUIET_AUDIO", "").strip().lower()
    if not raw:
        return DEFAULT_QUIET_DBOV
    if raw in ("off", "false", "no"):
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not -127.0 <= value <= -50.0:
        log.warning("COURTROOM_QUIET_AUDIO=%r is neither 'off' nor a level in dBov (-127 to -50);"
                    " using %s", raw[:20], DEFAULT_QUIET_DBOV)
        return DEFAULT_QUIET_DBOV
    return value


def audio_ptime_ms() -> int | None:
    """``COURTROOM_AUDIO_PTIME``: the Opus packet duration in ms the server's offers ask of
    publishers (10, 20, 40 or 60; default 40: half the packets of 20 ms, for 20 ms more delay),
    or ``off`` to ask nothing (browsers then send 20 ms). Anything else is logged and the
    default used."""
    raw = os.environ.get("COURTROOM_AUDIO_PTIME", "").strip().lower()
    if not raw:
        return DEFAULT_AUDIO_PTIME_MS
    if raw in ("off", "false", "no"):
        return None
    if len(raw) <= 3 and raw.isascii() and raw.isdigit() and int(raw) in AUDIO_PTIMES_MS:
        return int(raw)
    log.warning("COURTROOM_AUDIO_PTIME=%r is neither 'off' nor one of %s ms; using %s",
                raw[:20], AUDIO_PTIMES_MS, DEFAULT_AUDIO_PTIME_MS)
    return DEFAULT_AUDIO_PTIME_MS


def inline_receive() -> bool:
    """``COURTROOM_MEDIA_RECEIVE``: ``inline`` (default) handles each SRTP packet in the socket
    callback (media/aiortc_receive.py); ``queued`` keeps aiortc's queue and receive task, for a
    same-machine comparison or should an aiortc update break the inline path. Anything else is
    logged and the default used."""
    raw = os.environ.get("COURTROOM_MEDIA_RECEIVE", "").strip().lower()
    if raw in ("", "inline"):
        return True
    if raw == "queued":
        return False
    log.warning("COURTROOM_MEDIA_RECEIVE=%r is neither 'inline' nor 'queued'; using inline",
                raw[:20])
    return True


def media_config(settings: Settings, hearing_id: str) -> MediaConfig:
    if media_only():
        return MediaConfig(
            ice_mode=IceMode.LOOPBACK_ONLY
            if settings.ice_loopback_only
            else IceMode.ALL_INTERFACES,
            stun_urls=settings.stun_urls,
            turn_urls=settings.turn_urls,
            turn_secret=settings.turn_secret,
            ice_transport_policy=settings.ice_transport_policy,
            taps=False,
            recording_dir=None,
            inline_receive=inline_receive(),
            audio_ptime_ms=audio_ptime_ms(),
        )
    return MediaConfig(
        ice_mode=IceMode.LOOPBACK_ONLY if settings.ice_loopback_only else IceMode.ALL_INTERFACES,
        stun_urls=settings.stun_urls,
        turn_urls=settings.turn_urls,
        turn_secret=settings.turn_secret,
        ice_transport_policy=settings.ice_transport_policy,
        recording_dir=settings.data_dir / "recordings",  # the hub adds /<hearing>
        quiet_audio_dbov=quiet_audio_dbov(),
        inline_receive=inline_receive(),
        audio_ptime_ms=audio_ptime_ms(),
    )


class HearingMedia:
    def __init__(self, runtime: HearingRuntime, settings: Settings) -> None:
        self.runtime = runtime
        self.hub = MediaHub(
            media_config(settings, runtime.hearing_id),
            hearing=runtime.hearing_id,
            send_signal=self._send,
            on_recording=self._recorded,
            on_gap=self._gap,
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._signalling: dict[str, asyncio.Task[Any]] = {}  # each participant's last signal
        runtime.add_plan_listener(self._plan_changed)
        self._stats_task = asyncio.create_task(self._push_stats())
        # Pipelines attached to this room (transcript, discipline watch) stop here first.
        self.on_close: list[Callable[[], Awaitable[None]]] = []

    async def start(self) -> None:
        await self.hub.apply_plan(self.runtime.plan)

    async def _plan_changed(self, old: MediaPlan, new: MediaPlan) -> None:
        await self.hub.apply_plan(new)

    async def handle_signal(self, actor: Actor, data: dict[str, Any]) -> str | None:
        """Hand a client's signalling to the hub; returns an error message if malformed."""
        problem = signal_problem(data)
        if problem is not None:
            return problem
        try:
            await self.hub.handle_signal(actor.id, data)
        except AnswerRefused as exc:
            return str(exc)
        return None

    async def disconnect(self, participant_id: str) -> None:
        await self.hub.disconnect(participant_id)

    def _send(self, participant_id: str, message: dict[str, Any]) -> None:
        """Signalling to one participant, in the order the hub made it.

        Each message is published after the one before it to the same participant: two
        publishes in flight at once may leave on two Redis connections and arrive swapped
        (an ``offer`` before its ``config``: the client has no peer to answer with, and its
        media never starts). Participants do not wait for each other.
        """
        signal = {"v": 1, "type": "signal", "data": message}
        before = self._signalling.get(participant_id)
        task = self._spawn(self._send_after(before, participant_id, signal))
        self._signalling[participant_id] = task
        task.add_done_callback(lambda t: self._signalled(participant_id, t))

    async def _send_after(self, before: asyncio.Task[Any] | None, participant_id: str,
                          signal: dict[str, Any]) -> None:
        if before is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(before)  # its failure is logged by its own task
        await self.runtime.send_to(participant_id, signal)

    def _signalled(self, participant_id: str, task: asyncio.Task[Any]) -> None:
        if self._signalling.get(participant_id) is task:
            del self._signalling[participant_id]

    def _recorded(self, finished: FinishedFile) -> None:
        event = ev.RecordingFinished(
            finished.participant,
            MediaKind(finished.kind),
            Path(finished.path).name,
            finished.sha256,
            finished.size,
            round(finished.start, 3),
            round(finished.end, 3),
            tuple(ev.Span(t0, t1) for t0, t1 in finished.gaps),
        )
        self._spawn(self.runtime.record([event]))

    def _gap(self, participant_id: str, kind: str, t0: float, t1: float) -> None:
        """Frames of a track stopped and resumed: the log marks the gap on the recording clock."""
        self._spawn(self.runtime.record([ev.MediaGap(participant_id, MediaKind(kind), t0, t1)]))

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _push_stats(self) -> None:
        while True:
            await asyncio.sleep(STATS_INTERVAL_S)
            try:
                stats = await self.hub.stats()
            except Exception:
                log.exception("hearing %s: media stats failed", self.runtime.hearing_id)
                continue
            msg = {"v": 1, "type": "media_stats", "stats": stats}
            await self.runtime.broadcast(self.runtime.bench(), msg)

    def counters(self) -> list[dict[str, Any]]:
        """Packets forwarded per route, as the server counted them."""
        return [
            {
                "source": r.source,
                "kind": r.kind.value,
                "destination": r.destination,
                "link": r.link.value,
                "packets": n,
            }
            for r, n in sorted(self.hub.counters.forwarded.items())
        ]

    async def close(self) -> None:
        for closer in self.on_close:
            with contextlib.suppress(Exception):
                await closer()
        self._stats_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._stats_task
        await self.hub.close()
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task


RoomHook = Callable[[HearingMedia], Awaitable[None]]


class MediaRooms:
    """The media hubs of this process, one per hearing, made on first use.

    ``on_room`` hooks run once for each new room: the live transcript and the
    discipline watch attach to its taps there.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._rooms: dict[str, HearingMedia] = {}
        self._lock = asyncio.Lock()
        self.on_room: list[RoomHook] = []

    def get(self, hearing_id: str) -> HearingMedia | None:
        return self._rooms.get(hearing_id)

    def rooms(self) -> list[HearingMedia]:
        return list(self._rooms.values())

    async def room(self, runtime: HearingRuntime) -> HearingMedia:
        async with self._lock:
            room = self._rooms.get(runtime.hearing_id)
            if room is None:
                room = HearingMedia(runtime, self._settings)
                await room.start()
                self._rooms[runtime.hearing_id] = room
                for hook in self.on_room:
                    await hook(room)
            return room

    async def drop(self, hearing_id: str) -> None:
        """Close a hearing's media here (another node took the hearing over)."""
        async with self._lock:
            room = self._rooms.pop(hearing_id, None)
        if room is not None:
            await room.close()

    async def close(self) -> None:
        for room in self._rooms.values():
            await room.close()
        self._rooms.clear()
