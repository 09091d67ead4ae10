"""Starts and stops each hearing's studio as its log says, on the node holding its media.

Plugged into the media rooms (``MediaRooms.on_room``), as the transcript and the
discipline watch are: the court office does not know it by name. Each room gets a small
watcher task that follows ``state.broadcast`` (the log's word): a new broadcast number
starts a studio, ``live`` going off stops it. Pauses are not the watcher's business: the
studio reads the state at every tick and blanks its own delay buffer.

The studio's inputs are resolved here, on the event loop: the video taps the server
already decodes for the discipline watch, and one ``AudioSink`` per participant whose
role may ever be broadcast (a witness's audio never gets one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from ..config import Settings
from ..domain.broadcast import BROADCAST_ROLES
from ..domain.routing import MediaKind
from ..server.media_bridge import HearingMedia
from .mix import AudioSink
from .studio import Studio, StudioConfig

log = logging.getLogger(__name__)

_WATCH_S = 0.2


def broadcast_dir(settings: Settings, hearing_id: str, number: int) -> Path:
    """Where broadcast ``number`` of a hearing writes its HLS playlist and segments."""
    return settings.data_dir / "broadcast" / hearing_id / str(number)


class _OnAir:
    """One running broadcast: its studio and what it hooked onto the hub."""

    def __init__(self, room: HearingMedia, studio: Studio, number: int) -> None:
        self.room = room
        self.studio = studio
        self.number = number
        self.taps: dict[str, Any] = {}
        self.sinks: dict[str, AudioSink] = {}

    def hook_sources(self) -> None:
        hub = self.room.hub
        for p in self.room.runtime.state.participants.values():
            pid = p.participant_id
            if p.role not in BROADCAST_ROLES or pid in self.sinks:
                continue
            self.taps[pid] = hub.video_tap(pid)
            sink = AudioSink(pid)
            hub.source_hub(pid, MediaKind.AUDIO).sinks.append(sink)
            self.sinks[pid] = sink
            self.studio.add_voice(sink)

    def unhook(self) -> None:
        for pid, sink in self.sinks.items():
            sinks = self.room.hub.source_hub(pid, MediaKind.AUDIO).sinks
            with contextlib.suppress(ValueError):
                sinks.remove(sink)


class BroadcastOffice:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.on_air: dict[str, _OnAir] = {}

    def studio_config(self) -> StudioConfig:
        s = self.settings
        return StudioConfig(size=s.broadcast_size, fps=s.broadcast_fps, delay_s=s.broadcast_delay_s)

    async def on_room(self, room: HearingMedia) -> None:
        task = asyncio.create_task(self._watch(room), name=f"broadcast-{room.runtime.hearing_id}")

        async def close() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self._stop(room.runtime.hearing_id)

        room.on_close.append(close)

    async def _watch(self, room: HearingMedia) -> None:
        hearing_id = room.runtime.hearing_id
        while True:
            try:
                b = room.runtime.state.broadcast
                current = self.on_air.get(hearing_id)
                if current is not None and (not b.live or current.number != b.number):
                    await self._stop(hearing_id)
                    current = None
                if b.live and current is None:
                    current = self._start(room, b.number)
                if current is not None:
                    current.hook_sources()
            except Exception:
                log.exception("hearing %s: broadcast watcher failed", hearing_id)
            await asyncio.sleep(_WATCH_S)

    def _start(self, room: HearingMedia, number: int) -> _OnAir:
        runtime = room.runtime
        out = broadcast_dir(self.settings, runtime.hearing_id, number)
        on_air: _OnAir

        def video(pid: str) -> Any:
            return on_air.taps.get(pid)

        studio = Studio(lambda: runtime.state, video, out, self.studio_config())
        on_air = _OnAir(room, studio, number)
        on_air.hook_sources()
        studio.start()
        self.on_air[runtime.hearing_id] = on_air
        log.info("hearing %s: broadcast %d on air (delay %.0f s)",
                 runtime.hearing_id, number, self.settings.broadcast_delay_s)  # fmt: skip
        return on_air

    async def _stop(self, hearing_id: str) -> None:
        on_air = self.on_air.pop(hearing_id, None)
        if on_air is None:
            return
        on_air.unhook()
        studio = on_air.studio
        await asyncio.to_thread(studio.stop)
        log.info("hearing %s: broadcast %d off air", hearing_id, on_air.number)
        if studio.skipped or studio.error is not None:
            # Starved of CPU (the public saw a shorter, jumpy stream) or failed: say so.
            log.warning(
                "hearing %s: broadcast %d: %d ticks composed, %d skipped, error %r",
                hearing_id, on_air.number, studio.ticks, studio.skipped, studio.error,
            )  # fmt: skip
