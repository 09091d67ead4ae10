"""Async transcript stream: push audio, flush, end input, `async for event in stream`.

Decoding runs in an executor (vosk's C calls release the GIL, so streams decode in parallel
on several cores), one call at a time per stream so the recognizer sees its audio in order.

Backpressure: `push()` never blocks. Audio waiting for the decoder is bounded by
`max_backlog_s`. Past that, the OLDEST waiting audio is dropped, never silently: the
recognizer's clock still advances over it (later times stay right), a `Gap(t0, t1)` event
goes into the transcript, and `stats.dropped_s` counts it. Rationale: a live transcript that
lags by minutes is useless in the room, the recording keeps every sample, and the clerk can
re-run `transcribe_file` over a gap. Catching up happens in batches of up to `max_batch_s`
so partials keep flowing while a stream recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import av

from asr.events import AsrEvent, Gap
from asr.recognizer import DEFAULT_GATE, GateConfig, Recognizer, RecognizerStats
from asr.resample import BYTES_PER_SAMPLE, RATE, Resampler16k

__all__ = ["StreamStats", "TranscriptStream"]


@dataclass(slots=True)
class StreamStats:
    pushed_s: float = 0.0
    backlog_s: float = 0.0  # pushed, not yet handed to the decoder
    max_backlog_s: float = 0.0
    dropped_s: float = 0.0
    gaps: int = 0
    decode_s: float = 0.0  # worker time spent in the recognizer (CPU-ish; includes GIL waits)


@dataclass(frozen=True, slots=True)
class _Skip:
    samples: int


class _Flush:
    pass


class _End:
    pass


_Op = bytes | _Skip | _Flush | _End


class TranscriptStream:
    """One participant track. Construct inside a running event loop."""

    def __init__(
        self,
        model: Any,
        *,
        origin: float = 0.0,
        executor: Executor | None = None,
        gate: GateConfig = DEFAULT_GATE,
        chunk_s: float = 0.1,
        max_backlog_s: float = 10.0,
        max_batch_s: float = 1.0,
        recognizer: Recognizer | None = None,
        wrap: Callable[[Coroutine[Any, Any, None]], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        """``recognizer``: one already built (see :meth:`open`); ``wrap``: applied to the
        stream's decoding coroutine before it becomes a task (e.g. CPU accounting)."""
        self._loop = asyncio.get_running_loop()
        self._rec = recognizer or Recognizer(model, origin=origin, gate=gate, chunk_s=chunk_s)
        self._resampler = Resampler16k()
        self._executor = executor
        self._max_backlog = int(max_backlog_s * RATE) * BYTES_PER_SAMPLE
        self._max_batch = int(max_batch_s * RATE) * BYTES_PER_SAMPLE
        self._ops: deque[_Op] = deque()
        self._backlog = 0  # bytes of audio in _ops
        self._wake = asyncio.Event()
        self._events: asyncio.Queue[AsrEvent | None] = asyncio.Queue()
        self._error: BaseException | None = None
        self._input_ended = False
        self._done = False
        self.stats = StreamStats()
        run = self._run()
        self._task = self._loop.create_task(wrap(run) if wrap is not None else run)

    @classmethod
    async def open(
        cls,
        model: Any,
        *,
        origin: float = 0.0,
        executor: Executor | None = None,
        gate: GateConfig = DEFAULT_GATE,
        chunk_s: float = 0.1,
        warm: bool = True,
        **kw: Any,
    ) -> TranscriptStream:
        """A stream whose recognizer is built (about 0.1 s of CPU with a large model) and,
        with ``warm``, warmed up (see :meth:`Recognizer.warm_up`) in ``executor``, off the
        event loop: do it when a participant joins, before they first speak."""

        def build() -> Recognizer:
            rec = Recognizer(model, origin=origin, gate=gate, chunk_s=chunk_s)
            if warm:
                rec.warm_up()
            return rec

        rec = await asyncio.get_running_loop().run_in_executor(executor, build)
        return cls(model, executor=executor, recognizer=rec, **kw)

    def set_origin(self, origin: float) -> None:
        """Stream-clock time of the first audio; call before the first push()."""
        if self.stats.pushed_s:
            raise RuntimeError("set_origin() after push()")
        self._rec.set_origin(origin)

    # -- input ------------------------------------------------------------------------------

    def push(self, audio: av.AudioFrame | bytes) -> None:
        """Queue audio: any `av.AudioFrame`, or bytes already 16 kHz mono s16."""
        if self._input_ended:
            raise RuntimeError("push() after end_input()")
        if isinstance(audio, av.AudioFrame):
            pcm = self._resampler.convert(audio)
        elif len(audio) % BYTES_PER_SAMPLE:
            raise ValueError("16-bit PCM must have an even number of bytes")
        else:
            pcm = audio
        if pcm:
            self._append(pcm)

    def flush(self) -> None:
        """Ask for a final for what has been pushed so far."""
        self._ops.append(_Flush())
        self._wake.set()

    def end_input(self) -> None:
        """No more audio; iteration ends after the last events."""
        if self._input_ended:
            return
        tail = self._resampler.flush()
        if tail:
            self._append(tail)
        self._input_ended = True
        self._ops.append(_End())
        self._wake.set()

    async def aclose(self) -> None:
        """Stop decoding now (pending audio is discarded) and end iteration."""
        self._input_ended = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if not self._done:
            self._done = True
            self._events.put_nowait(None)

    @property
    def recognizer_stats(self) -> RecognizerStats:
        return self._rec.stats

    def _append(self, pcm: bytes) -> None:
        self._ops.append(pcm)
        self._backlog += len(pcm)
        self.stats.pushed_s += len(pcm) / BYTES_PER_SAMPLE / RATE
        if self._backlog > self._max_backlog:
            self._drop_oldest(self._backlog - self._max_backlog)
        self.stats.backlog_s = self._backlog / BYTES_PER_SAMPLE / RATE
        self.stats.max_backlog_s = max(self.stats.max_backlog_s, self.stats.backlog_s)
        self._wake.set()

    def _drop_oldest(self, excess: int) -> None:
        # Oldest audio becomes a _Skip (merged with neighbouring skips); flush/end markers
        # keep their place.
        excess += excess % BYTES_PER_SAMPLE
        kept: list[_Op] = []
        skip = 0
        while self._ops and excess > 0:
            op = self._ops.popleft()
            if isinstance(op, bytes):
                cut = min(len(op), excess)
                skip += cut // BYTES_PER_SAMPLE
                excess -= cut
                self._backlog -= cut
                if cut < len(op):
                    self._ops.appendleft(op[cut:])
            elif isinstance(op, _Skip):
                skip += op.samples
            else:
                if skip:
                    kept.append(_Skip(skip))
                    skip = 0
                kept.append(op)
        if skip:
            kept.append(_Skip(skip))
        self._ops.extendleft(reversed(kept))

    # -- decoding ---------------------------------------------------------------------------

    def _take(self) -> list[_Op]:
        """Next batch for the worker: audio up to max_batch_s, stopping after a sentinel."""
        batch: list[_Op] = []
        size = 0
        while self._ops and size < self._max_batch:
            op = self._ops.popleft()
            batch.append(op)
            if isinstance(op, bytes):
                size += len(op)
                self._backlog -= len(op)
            elif isinstance(op, _Flush | _End):
                break
        self.stats.backlog_s = self._backlog / BYTES_PER_SAMPLE / RATE
        return batch

    def _quiet_inline(self) -> bool:
        """Audio that keeps the energy gate shut is taken here, on the loop: no executor hop,
        no vosk call, so a silent participant's decoder idles. (Safe: no worker call is in
        flight while _run looks at the queue.)"""
        op = self._ops[0]
        if not isinstance(op, bytes) or not self._rec.accept_if_quiet(op):
            return False
        self._ops.popleft()
        self._backlog -= len(op)
        self.stats.backlog_s = self._backlog / BYTES_PER_SAMPLE / RATE
        return True

    def _work(self, batch: list[_Op]) -> None:
        # Runs in the executor thread. Audio goes to the recognizer a chunk at a time and each
        # chunk's events are handed to the loop at once: a batch of up to max_batch_s (a stream
        # catching up) no longer holds its first partial back until the whole batch is decoded.
        step = self._rec.chunk_bytes
        for op in batch:
            if isinstance(op, bytes):
                for i in range(0, len(op), step):
                    self._emit(self._rec.accept(op[i : i + step]))
            elif isinstance(op, _Skip):
                t0 = self._rec.stream_time
                self._emit([*self._rec.skip(op.samples), Gap(t0, self._rec.stream_time)])
            elif isinstance(op, _Flush):
                self._emit(self._rec.flush())
            else:
                self._emit(self._rec.end())

    def _emit(self, events: list[AsrEvent]) -> None:
        """From the worker thread: deliver ``events`` on the loop, in order (call_soon_threadsafe
        is FIFO, and runs before the worker call's own completion is seen by _run)."""
        if events:
            with contextlib.suppress(RuntimeError):  # the loop closed under a late worker call
                self._loop.call_soon_threadsafe(self._deliver, events)

    def _deliver(self, events: list[AsrEvent]) -> None:
        if self._done:
            return  # closed (aclose) while this worker call was in flight
        for event in events:
            if isinstance(event, Gap):
                self.stats.gaps += 1
                self.stats.dropped_s += event.t1 - event.t0
            self._events.put_nowait(event)

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._ops:
                    if self._quiet_inline():
                        continue
                    batch = self._take()
                    t = self._loop.time()
                    await self._loop.run_in_executor(self._executor, self._work, batch)
                    self.stats.decode_s += self._loop.time() - t
                    if isinstance(batch[-1], _End):
                        self._done = True
                        self._events.put_nowait(None)
                        return
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # surfaced to the consumer by __anext__
            self._error = exc
            self._done = True
            self._events.put_nowait(None)

    # -- output -----------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[AsrEvent]:
        return self

    async def __anext__(self) -> AsrEvent:
        event = await self._events.get()
        if event is None:
            self._events.put_nowait(None)  # stay exhausted for later iterations
            if self._error is not None:
                raise self._error
            raise StopAsyncIteration
        return event
