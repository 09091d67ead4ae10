"""The live transcript: one recognizer per participant's audio, so every line has its speaker.

Attached to each hearing's media room. For every participant who publishes audio, a
task reads the room's audio tap (16 kHz mono), keeps the stream on the hearing's
recording clock (silence is filled in where no audio arrived, e.g. while muted), and
hands it to a ``TranscriptStream`` that decodes in worker threads. Partial lines go
live to those allowed to hear the hearing and are not logged; final lines become
``transcript_line`` events while the transcript is open. A missing model turns live
transcription off for that hearing and says so to the bench, plainly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from asr.events import Final, Partial
from asr.models import ModelMissing, ModelRegistry
from asr.stream import TranscriptStream
from media.quiet import Silence

from ..domain import events as ev
from ..domain.presence import Presence
from ..domain.roles import STAFF, Permission, may
from ..domain.transcript import Word
from .cpu import timed
from .media_bridge import HearingMedia
from .runtime import HearingRuntime

log = logging.getLogger(__name__)

RATE = 16_000
# Fill silence for gaps longer than this, so that line times stay on the recording clock.
_GAP_S = 0.25
_MAX_FILL_S = 30.0
_SCAN_S = 0.5

AudioListener = Callable[[str, float, bytes], None]


def listeners_of(state: Any) -> list[str]:
    """Who may follow the transcript live: the bench, and those in the hearing."""
    return [
        p.participant_id
        for p in state.participants.values()
        if p.role in STAFF or p.presence is Presence.IN_HEARING
    ]


class LiveTranscript:
    def __init__(
        self,
        room: HearingMedia,
        models: ModelRegistry,
        executor: Executor,
        audio_listeners: list[AudioListener],
    ) -> None:
        self.room = room
        self.runtime: HearingRuntime = room.runtime
        self._models = models
        self._executor = executor
        self._audio_listeners = audio_listeners
        self._tracks: dict[str, asyncio.Task[None]] = {}
        # Per participant: their stream being built and warmed, from when they join.
        self._ready: dict[str, asyncio.Task[TranscriptStream]] = {}
        self._model: Any = None
        self._model_id = ""
        self.off_reason: str | None = None
        self._task = asyncio.create_task(timed(self._watch(), "asr"))
        self._line_no = 0

    async def _load_model(self) -> bool:
        language = self.runtime.state.language or "zh"
        try:
            self._model = await asyncio.to_thread(self._models.load, language)
        except ModelMissing as exc:
            self.off_reason = str(exc)
            log.warning(
                "hearing %s: live transcription off: no model for %s",
                self.runtime.hearing_id,
                language,
            )
            await self.runtime.broadcast(
                self.runtime.bench(),
                {"v": 1, "type": "transcript_status", "available": False, "message": str(exc)},
            )
            return False
        self._model_id = self._models.status(language).model_id or language
        return True

    async def _watch(self) -> None:
        if not await self._load_model():
            return
        while True:
            for p in self.runtime.state.participants.values():
                pid = p.participant_id
                if pid in self._tracks or not may(p.role, Permission.PUBLISH_MEDIA):
                    continue
                if p.presence is Presence.INVITED or not p.connected:
                    self._drop_ready(pid)  # left before publishing: give the memory back
                    continue
                if pid not in self._ready:
                    # Joined: build and warm their recognizer now, before they first speak.
                    self._ready[pid] = asyncio.create_task(self._open_stream())
                tap = self.room.hub.audio_tap(pid)
                if tap is not None:
                    self._tracks[pid] = asyncio.create_task(timed(self._track(pid, tap), "asr"))
            await asyncio.sleep(_SCAN_S)

    async def _open_stream(self) -> TranscriptStream:
        return await TranscriptStream.open(
            self._model, executor=self._executor, wrap=lambda c: timed(c, "asr")
        )

    def _drop_ready(self, pid: str) -> None:
        task = self._ready.pop(pid, None)
        if task is not None:
            task.add_done_callback(_close_quietly)
            task.cancel()

    def ready(self, participant_id: str) -> TranscriptStream | None:
        """The participant's recognizer stream, once built and warmed (tests, status)."""
        task = self._ready.get(participant_id)
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    async def _track(self, speaker: str, tap: Any) -> None:
        clock = self.room.hub.clock
        opening = self._ready.get(speaker) or asyncio.create_task(self._open_stream())
        self._ready[speaker] = opening
        # The tap is bounded and drops its oldest audio: keep reading it while the recognizer
        # is still being built and warmed (a participant who speaks at once loses nothing).
        # Once the recognizer is ready, wait on the tap alone: waiting on a finished task
        # too would return at once and spin the event loop until the first audio arrives.
        early: list[tuple[float, bytes]] = []
        while not (opening.done() and early):
            get: asyncio.Future[Any] = asyncio.ensure_future(tap.get())
            waiting = {get} if opening.done() else {get, opening}
            try:
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not get.done():
                    get.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await get
            if not get.cancelled():
                early.append((_heard(tap, clock), _pcm(get.result())))
        origin = early[0][0]
        stream = opening.result()
        stream.set_origin(origin)
        reader = asyncio.create_task(timed(self._results(speaker, stream), "asr"))
        fed = 0  # samples pushed since origin

        def feed(pcm: bytes, now: float) -> None:
            nonlocal fed
            if not pcm:
                return
            start = now - len(pcm) / (2 * RATE)
            gap = start - (origin + fed / RATE)
            if gap > _GAP_S:  # nothing arrived for a while: muted, cut or a network gap
                silence = int(min(gap, _MAX_FILL_S) * RATE)
                stream.push(bytes(2 * silence))
                fed += silence
            t = origin + fed / RATE
            stream.push(pcm)
            fed += len(pcm) // 2
            for listener in self._audio_listeners:
                listener(speaker, t, pcm)

        try:
            for now, pcm in early:
                feed(pcm, now)
            while True:
                frame = await tap.get()
                feed(_pcm(frame), _heard(tap, clock))
        finally:
            stream.end_input()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader, 5)
            await stream.aclose()

    async def _results(self, speaker: str, stream: TranscriptStream) -> None:
        async for event in stream:
            if isinstance(event, Partial):
                msg = {
                    "v": 1,
                    "type": "transcript_partial",
                    "speaker": speaker,
                    "text": event.text,
                    "at": event.at,
                }
                await self.runtime.broadcast(listeners_of(self.runtime.state), msg)
            elif isinstance(event, Final):
                await self._final(speaker, event)

    async def _final(self, speaker: str, final: Final) -> None:
        if not self.runtime.state.transcript_open:
            return  # closed: the transcript is frozen; the recording still has the audio
        self._line_no += 1
        line = ev.TranscriptLineRecorded(
            line_id=f"{speaker}-{self._line_no}",
            speaker=speaker,
            text=final.text,
            t0=round(final.t0, 3),
            t1=round(final.t1, 3),
            words=tuple(
                Word(w.text, round(w.t0, 3), round(w.t1, 3), round(w.conf, 3)) for w in final.words
            ),
            model=self._model_id,
        )
        await self.runtime.record([line])

    async def close(self) -> None:
        for pid in [p for p in self._ready if p not in self._tracks]:
            self._drop_ready(pid)
        self._task.cancel()
        for task in self._tracks.values():
            task.cancel()
        for task in [self._task, *self._tracks.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


_closing: set[asyncio.Task[None]] = set()


def _close_quietly(task: asyncio.Task[TranscriptStream]) -> None:
    if not task.cancelled() and task.exception() is None:
        closing = asyncio.ensure_future(task.result().aclose())
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)


def _pcm(frame: Any) -> bytes:
    """16 kHz mono s16 bytes of one tap item (a decoded frame, or zeros for ``Silence``:
    quiet audio the sender marked as such and the tap did not decode, media/quiet.py)."""
    if isinstance(frame, Silence):
        return bytes(2 * frame.samples)
    return bytes(frame.planes[0])[: frame.samples * 2]


def _heard(tap: Any, clock: Any) -> float:
    """When the frame just taken from ``tap`` arrived, on the recording clock.

    Reading time would shift every line by however far the reader lags under load (seconds
    on a busy machine) and misplace lines against the recording; taps stamp arrival."""
    arrived = getattr(tap, "last_arrival", None)
    return float(clock.now() if arrived is None else clock.at(arrived))
