"""The broadcast studio: one composition encoder for one hearing, in its own thread.

At each tick (``fps`` a second) the studio reads the hearing's state, asks the domain
what the public may receive (``broadcast_feeds``), composes the picture from the video
taps the server already decodes, mixes the allowed voices, and puts the result in the
**delay buffer**. Ticks older than the court's delay leave the buffer for the encoder.

Pausing (or closing the hearing) blanks the buffer: every tick taken since shortly
before the pause was seen (``PAUSE_MARGIN_S``, for the command's way from the judge's
click to this thread) is replaced by the card and silence before it can reach the
encoder, so nothing said after the pause is ever published. The blanking happens in the
same thread that feeds the encoder, so no tick can slip past it.

Everything here runs off the event loop: numpy, swscale, libopus and libx264 release
the GIL for their heavy work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..domain.broadcast import BENCH_ROLES, broadcast_feeds
from ..domain.routing import MediaKind
from ..domain.state import HearingState
from .compose import PAUSED, Composer, card
from .hls import HlsEncoder
from .mix import RATE, AudioSink, Mixer

log = logging.getLogger(__name__)

PAUSE_MARGIN_S = 1.0
# After a resume, media that reached the server this soon may have been captured while paused
# (camera, encoder, network and decoder latency): it is not used.
RESUME_MARGIN_S = 1.0
_SPEAKER_HOLD_S = 2.0  # the picture does not switch parties faster than this
_SPEAKING_RMS = 300.0  # s16 RMS above which a party counts as speaking
_STALE_S = 2.0  # a camera silent this long is shown as a grey cell
_MAX_LAG_S = 1.0  # a studio further behind than this skips ticks (counted in ``skipped``)

VideoSource = Callable[[str], Any]  # participant -> LatestFrameTap-like (``latest()``) or None


@dataclass
class StudioConfig:
    size: tuple[int, int] = (640, 360)
    fps: int = 15
    delay_s: float = 30.0
    segment_s: int = 2
    list_size: int = 6  # segments in the live playlist (older ones are deleted)


@dataclass
class _Tick:
    at: float  # time.monotonic() when composed
    picture: np.ndarray[Any, Any]
    pcm: np.ndarray[Any, Any]
    on_air: bool


class Studio:
    def __init__(
        self,
        state: Callable[[], HearingState],
        video: VideoSource,
        out_dir: Path,
        config: StudioConfig,
    ) -> None:
        if RATE % config.fps:
            raise ValueError("fps must divide 48000")
        self.config = config
        self.out_dir = out_dir
        self._state = state
        self._video = video
        self.mixer = Mixer(RATE // config.fps)
        self._composer = Composer(config.size)
        self._buffer: deque[_Tick] = deque()
        self._speaker: str | None = None
        self._speaker_since = 0.0
        self._was_on_air = False
        self._fresh_after = 0.0  # monotonic: media that arrived before this is not used
        self._stop = threading.Event()
        self._discard = False
        self.ticks = 0
        self.skipped = 0
        self.blanked = 0
        self.cpu_s = 0.0  # this thread's CPU time (the bench reads it)
        self.started_at = time.monotonic()  # the picture's time 0
        # When each voice was audible on air (monotonic [from, to]): the captions' rule.
        self.spans: dict[str, list[list[float]]] = {}
        self._audible: frozenset[str] = frozenset()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="broadcast-studio", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add_voice(self, sink: AudioSink) -> None:
        self.mixer.add(sink)

    def stop(self, *, publish_rest: bool = False, timeout: float = 10.0) -> None:
        """End the broadcast. What is still in the delay buffer is thrown away unless
        ``publish_rest`` (tests and the bench only): stopping is like a pause that lasts."""
        self._discard = not publish_rest
        self._stop.set()
        self._thread.join(timeout)

    # --- the studio thread -----------------------------------------------------------------

    def _run(self) -> None:
        cfg = self.config
        encoder = HlsEncoder(
            self.out_dir, cfg.size, cfg.fps, segment_s=cfg.segment_s, list_size=cfg.list_size
        )
        start = self.started_at = time.monotonic()
        try:
            i = 0
            while not self._stop.is_set():
                target = start + i / cfg.fps
                lag = time.monotonic() - target
                if lag < 0:
                    self._stop.wait(-lag)
                    continue
                if lag > _MAX_LAG_S:  # starved of CPU: skip ahead rather than fall behind
                    skip = int(lag * cfg.fps)
                    self.skipped += skip
                    i += skip
                self._tick(time.monotonic(), encoder)
                i += 1
            if not self._discard:
                while self._buffer:
                    tick = self._buffer.popleft()
                    encoder.write(tick.picture, tick.pcm)
        except BaseException as exc:  # kept for the office to report; the thread ends
            self.error = exc
            log.exception("broadcast studio failed")
        finally:
            self._buffer.clear()
            try:
                encoder.close()
            finally:
                self.cpu_s = time.thread_time()

    def _tick(self, now: float, encoder: HlsEncoder) -> None:
        state = self._state()
        feeds = broadcast_feeds(state)
        on_air = bool(feeds)
        audible = frozenset(pid for pid, kind in feeds if kind is MediaKind.AUDIO)
        self._note_spans(audible, now)
        if self._was_on_air and not on_air:
            self._blank_since(now - PAUSE_MARGIN_S)
        if on_air and not self._was_on_air and self.ticks:
            self._fresh_after = now + RESUME_MARGIN_S  # resumed
        self._was_on_air = on_air
        pcm, levels = self.mixer.tick(audible, self._fresh_after)
        if on_air:
            picture = self._composer.compose(self._pictures(state, feeds, levels, now))
        else:
            picture, pcm = card(self.config.size, PAUSED), np.zeros_like(pcm)
        self._buffer.append(_Tick(now, picture, pcm, on_air))
        self.ticks += 1
        due = now - self.config.delay_s
        while self._buffer and self._buffer[0].at <= due:
            tick = self._buffer.popleft()
            encoder.write(tick.picture, tick.pcm)
        self.cpu_s = time.thread_time()

    def _note_spans(self, audible: frozenset[str], now: float) -> None:
        for pid in audible - self._audible:
            self.spans.setdefault(pid, []).append([now, float("inf")])
        for pid in self._audible - audible:
            self.spans[pid][-1][1] = now
        self._audible = audible

    def _blank_since(self, since: float) -> None:
        """Replace every buffered tick taken at or after ``since`` by the card and silence."""
        for spans in self.spans.values():
            for span in spans:
                span[1] = min(span[1], since)
        blank = card(self.config.size, PAUSED)
        for tick in self._buffer:
            if tick.at >= since and tick.on_air:
                tick.picture, tick.pcm, tick.on_air = blank, np.zeros_like(tick.pcm), False
                self.blanked += 1

    def _pictures(
        self,
        state: HearingState,
        feeds: frozenset[tuple[str, MediaKind]],
        levels: dict[str, float],
        now: float,
    ) -> list[tuple[str, Any]]:
        seen = sorted(pid for pid, kind in feeds if kind is MediaKind.VIDEO)
        people = state.participants
        bench = sorted(
            (p for p in seen if people[p].role in BENCH_ROLES),
            key=lambda p: (people[p].role.value != "judge", p),
        )
        parties = [p for p in seen if people[p].role not in BENCH_ROLES]
        speaker = self._choose_speaker(parties, levels, now)
        shown = [*bench, *([speaker] if speaker else [])]
        return [(pid, self._latest(pid, now)) for pid in shown]

    def _choose_speaker(
        self, parties: list[str], levels: dict[str, float], now: float
    ) -> str | None:
        if self._speaker not in parties:  # left, excluded or cut: never kept on screen
            self._speaker = parties[0] if parties else None
            self._speaker_since = now
        loudest = max(parties, key=lambda p: levels.get(p, 0.0), default=None)
        if (
            loudest is not None
            and loudest != self._speaker
            and levels.get(loudest, 0.0) > max(_SPEAKING_RMS, levels.get(self._speaker or "", 0.0))
            and now - self._speaker_since >= _SPEAKER_HOLD_S
        ):
            self._speaker, self._speaker_since = loudest, now
        return self._speaker

    def _latest(self, pid: str, now: float) -> Any:
        tap = self._video(pid)
        got = tap.latest() if tap is not None else None
        if got is None:
            return None
        frame, at = got
        return frame if now - at <= _STALE_S and at >= self._fresh_after else None
