"""Where a speaking participant's ASR CPU goes, and what a setting change saves (issue 13).

Used by ``scripts/bench_asr.py --mode cost``. Every figure is CPU time (``time.thread_time``
around each call, or process time for the async path), so load from other work on a shared
machine changes the wall clock much more than these figures; latencies here are audio
positions (how much audio vosk had been fed when a partial appeared), not wall time.

The track: 1 s of room noise (-70 dBFS), the clip, 1.5 s of room noise, in 20 ms pushes as
the live path makes them; one warmed recognizer per clip (as a live track has at join).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fractions
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np

from asr.events import Final, Partial
from asr.recognizer import Recognizer
from asr.score import ErrorCount, cer, total
from asr.stream import TranscriptStream

RATE = 16000
PUSH = 320  # samples per push: 20 ms, as the audio tap delivers them


def noise(seconds: float, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 10, int(seconds * RATE)).astype("<i2").tobytes()


def track(pcm: bytes, k: int) -> bytes:
    return noise(1.0, seed=100 + k) + pcm + noise(1.5, seed=200 + k)


@dataclass
class CallTimes:
    """CPU seconds and calls per vosk method."""

    cpu: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, dt: float) -> None:
        self.cpu[name] = self.cpu.get(name, 0.0) + dt
        self.calls[name] = self.calls.get(name, 0) + 1


class TimedKaldi:
    """Stands in front of one KaldiRecognizer and times each call (bench only)."""

    def __init__(self, rec: Any, times: CallTimes) -> None:
        self._rec = rec
        self._times = times

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._rec, name)

        def timed(*args: Any) -> Any:
            t = time.thread_time()
            try:
                return method(*args)
            finally:
                self._times.add(name, time.thread_time() - t)

        return timed


def decode_track(
    model: Any, audio: bytes, make: Callable[[Any], Recognizer], times: CallTimes | None
) -> tuple[list[tuple[float, Any]], float]:
    """One warmed recognizer over ``audio`` in 20 ms pushes: ([(audio position when the
    event came out, event)], CPU seconds of accept calls)."""
    rec = make(model)
    rec.warm_up()
    if times is not None:
        rec._rec = TimedKaldi(rec._rec, times)
    events: list[tuple[float, Any]] = []
    cpu = 0.0
    step = PUSH * 2
    for i in range(0, len(audio), step):
        t = time.thread_time()
        out = [] if rec.accept_if_quiet(audio[i : i + step]) else rec.accept(audio[i : i + step])
        cpu += time.thread_time() - t
        events += [(min(i + step, len(audio)) / 2 / RATE, e) for e in out]
    t = time.thread_time()
    out = rec.end()
    cpu += time.thread_time() - t
    events += [(len(audio) / 2 / RATE, e) for e in out]
    return events, cpu


def first_partial_lag(events: list[tuple[float, Any]], pcm: bytes) -> float | None:
    """Audio pushed past the first voiced frame when the first partial came out (seconds)."""
    on = 1.0 + onset(pcm) / RATE
    firsts = [at for at, e in events if isinstance(e, Partial)]
    return round(firsts[0] - on, 3) if firsts else None


def final_lag(events: list[tuple[float, Any]]) -> float | None:
    """Audio pushed past the last word's end when the last final came out (seconds)."""
    finals = [(at, e) for at, e in events if isinstance(e, Final)]
    return round(finals[-1][0] - finals[-1][1].t1, 3) if finals else None


def onset(pcm: bytes) -> int:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    frames = x[: x.size - x.size % 160].reshape(-1, 160)
    loud = np.nonzero((frames**2).mean(axis=1) > (10 ** (-50 / 10)) * 32768.0**2)[0]
    return int(loud[0]) * 160 if loud.size else 0


def run_setting(
    model: Any, refs: list[str], pcms: list[bytes], make: Callable[[Any], Recognizer]
) -> dict[str, Any]:
    """CER, CPU per second of speech by component, and first-partial lag of one setting."""
    times = CallTimes()
    errors: list[ErrorCount] = []
    accept_cpu = 0.0
    lags: list[float] = []
    finals_after: list[float] = []
    partials = 0
    speech_s = sum(len(p) for p in pcms) / 2 / RATE
    for k, (ref, pcm) in enumerate(zip(refs, pcms, strict=True)):
        events, cpu = decode_track(model, track(pcm, k), make, times)
        accept_cpu += cpu
        text = " ".join(e.text for _, e in events if isinstance(e, Final))
        errors.append(cer(ref, text))
        lags += [x for x in [first_partial_lag(events, pcm)] if x is not None]
        finals_after += [x for x in [final_lag(events)] if x is not None]
        partials += sum(isinstance(e, Partial) for _, e in events)
    vosk = sum(times.cpu.values())
    return {
        "cer": round(total(errors).rate, 4),
        "cpu_per_speech_s": round(accept_cpu / speech_s, 4),
        "vosk_cpu_per_speech_s": {k: round(v / speech_s, 4) for k, v in times.cpu.items()},
        "vosk_calls": times.calls,
        "gate_and_python_per_speech_s": round((accept_cpu - vosk) / speech_s, 4),
        "partials": partials,
        "first_partial_audio_lag_s": _stats(lags),
        "final_after_last_word_audio_s": _stats(finals_after),
        "speech_s": round(speech_s, 2),
    }


def opus_cost(pcms: list[bytes]) -> dict[str, Any]:
    """Decode + resample as the audio tap does (48 kHz stereo Opus -> 16 kHz mono s16)."""
    up = av.AudioResampler(format="s16", layout="stereo", rate=48000)
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "stereo", "s16"  # type: ignore[attr-defined]
    packets: list[bytes] = []
    for pcm in pcms:
        frame = av.AudioFrame.from_ndarray(
            np.frombuffer(pcm, dtype="<i2").reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = RATE
        for f in up.resample(frame):
            packets += [bytes(p) for p in enc.encode(f)]
    dec = av.CodecContext.create("libopus", "r")
    down = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    t_dec = t_res = 0.0
    for data in packets:
        packet = av.Packet(data)
        packet.time_base = fractions.Fraction(1, 48000)
        t = time.thread_time()
        frames = dec.decode(packet)
        t_dec += time.thread_time() - t
        t = time.thread_time()
        for f in frames:
            down.resample(f)
        t_res += time.thread_time() - t
    audio_s = sum(len(p) for p in pcms) / 2 / RATE
    return {
        "packets": len(packets),
        "opus_decode_per_audio_s": round(t_dec / audio_s, 5),
        "resample_48k_to_16k_per_audio_s": round(t_res / audio_s, 5),
    }


async def stream_cost(model: Any, pcms: list[bytes], make: Callable[[Any], Recognizer]) -> dict[str, Any]:
    """The async shell's own cost: process CPU of a TranscriptStream fed 20 ms pushes one at
    a time (each handled before the next, as in real time) minus the recognizer's CPU."""
    ex = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="asr")
    rec_cpu = 0.0
    proc_cpu = 0.0
    audio_s = 0.0
    hops = 0
    for k, pcm in enumerate(pcms):
        rec = make(model)
        rec.warm_up()
        times = CallTimes()
        rec._rec = TimedKaldi(rec._rec, times)
        accept = rec.accept
        spent = [0.0]

        def timed_accept(b: bytes, _a: Any = accept, _s: list[float] = spent) -> Any:
            t = time.thread_time()
            try:
                return _a(b)
            finally:
                _s[0] += time.thread_time() - t

        rec.accept = timed_accept  # type: ignore[method-assign]
        stream = TranscriptStream(model, executor=ex, recognizer=rec)
        work = stream._work

        def counted(batch: Any, _w: Any = work) -> None:
            nonlocal hops
            hops += 1
            _w(batch)

        stream._work = counted  # type: ignore[method-assign]
        consumer = asyncio.create_task(_drain(stream))
        audio = track(pcm, k)
        t = time.process_time()
        for i in range(0, len(audio), PUSH * 2):
            stream.push(audio[i : i + PUSH * 2])
            await _handled(stream, min(i + PUSH * 2, len(audio)) // 2)
        stream.end_input()
        await consumer
        proc_cpu += time.process_time() - t
        rec_cpu += spent[0]
        audio_s += len(audio) / 2 / RATE
    ex.shutdown()
    return {
        "audio_s": round(audio_s, 2),
        "process_cpu_per_audio_s": round(proc_cpu / audio_s, 4),
        "recognizer_cpu_per_audio_s": round(rec_cpu / audio_s, 4),
        "async_shell_cpu_per_audio_s": round((proc_cpu - rec_cpu) / audio_s, 4),
        "worker_hops_per_audio_s": round(hops / audio_s, 1),
    }


async def _drain(stream: TranscriptStream) -> None:
    async for _ in stream:
        pass


async def _handled(stream: TranscriptStream, samples: int) -> None:
    """Wait until the stream has taken ``samples`` (real time leaves each push alone)."""
    while stream.stats.backlog_s > 0 or stream._rec.stats.samples_in < samples - 160:
        await asyncio.sleep(0.0005)


def _stats(xs: list[float]) -> dict[str, float | int | None]:
    if not xs:
        return {"mean": None, "p95": None, "max": None, "n": 0}
    s = sorted(xs)
    return {
        "mean": round(sum(s) / len(s), 3),
        "p95": s[min(len(s) - 1, round(0.95 * (len(s) - 1)))],
        "max": s[-1],
        "n": len(s),
    }


def hop_cost(n: int = 3000) -> float:
    """CPU (µs) of one executor hop, as TranscriptStream makes one per push while the gate is
    open (the pushes of a silent participant are taken on the loop, without a hop)."""

    async def hops() -> float:
        ex = concurrent.futures.ThreadPoolExecutor(1)
        loop = asyncio.get_running_loop()
        t = time.process_time()
        for _ in range(n):
            await loop.run_in_executor(ex, int)
        ex.shutdown()
        return (time.process_time() - t) / n * 1e6

    return round(asyncio.run(hops()), 1)


def compare(stock: Any, tuned: Any, refs: list[str], pcms: list[bytes]) -> dict[str, Any]:
    """Stock decoder settings (the baseline) against the tuned ones, same clips, same run;
    then where the CPU goes outside vosk."""
    base = run_setting(stock, refs, pcms, Recognizer)
    now = run_setting(tuned, refs, pcms, Recognizer)
    return {
        "clips": len(pcms),
        "baseline_stock_search": base,
        "tuned_search": now,
        "ratios": {
            "cpu_per_speech_s": round(now["cpu_per_speech_s"] / base["cpu_per_speech_s"], 3),
            "cer_points": round(100 * (now["cer"] - base["cer"]), 2),
        },
        "outside_vosk": {
            **opus_cost(pcms),
            "executor_hop_cpu_us": hop_cost(),
            "stream_shell": asyncio.run(stream_cost(tuned, pcms[:4], Recognizer)),
        },
    }
