#!/usr/bin/env python3
"""ASR benchmark on the Korean fixtures (real vosk, real model).

Phases (default run ~2-3 min on 2 cores; --clips / --all / --window tune it):
  1. accuracy + real-time factor: each clip through a fresh Recognizer (the baseline) and
     all clips through one warmed-up Recognizer (how a live track runs).
  2. latency: one TranscriptStream, clips paced in real time in 20 ms frames, each followed
     by 1 s of room noise (-70 dBFS). Partial latency = arrival - push of the audio the partial
     covers; final latency = arrival - push of the clip's last sample (and of the last word).
     Baseline: a fresh stream per utterance, on the first clips.
  2b. first: a track's first utterance, speech onset -> first partial, with the recognizer
     built when the audio starts (before issue 13) vs built and warmed at join (now).
  3. silence: 20 s of room noise with the gate on vs off (vosk frames fed, CPU).
  4. concurrency: the process pinned to one core, N streams paced in real time (clips back to
     back, no gaps); N keeps up if no stream's backlog exceeds 1 s and all drain within 1 s.
  5. live (the whole path): a real courtroom server (loopback ICE) and a real aiortc client
     sending each clip as its microphone, in real time, over WebRTC; the judge's websocket
     receives partials and final transcript lines. Measured on the client's clock: end of the
     last word (offline word times of the same clip) -> final line, and speech onset -> first
     partial.
Last line: one JSON object with all figures.

--mode cost (instead of the phases): where a speaking participant's ASR CPU goes (each vosk
call, the gate, Opus decoding, resampling, executor hops) and the tuned decoder search
(asr/search.py) against vosk's stock settings on the same clips in the same run: CER, CPU per
second of speech, first-partial and final lag in audio time (scripts/benchlib/asr_cost.py).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import concurrent.futures
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asr.batch import read_pcm16k
from asr.evaluate import Clip, load_manifest, offline_decode
from asr.events import Final, Partial
from asr.models import ModelRegistry, default_models_dir
from asr.recognizer import GateConfig, Recognizer
from asr.score import ErrorCount, cer, total, wer
from asr.stream import TranscriptStream

RATE = 16000
FRAME = 320  # 20 ms


def noise(seconds: float, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 10, int(seconds * RATE)).astype("<i2").tobytes()


def stats(xs: list[float]) -> dict[str, float | None]:
    if not xs:
        return {"mean": None, "p95": None, "n": 0}
    s = sorted(xs)
    p95 = s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]
    return {"mean": round(statistics.fmean(s), 3), "p95": round(p95, 3), "n": len(s)}


def phase_accuracy(model: Any, clips: list[Clip], pcms: list[bytes], offline: bool) -> dict[str, Any]:
    audio_s = sum(len(p) for p in pcms) / 2 / RATE
    cers: list[ErrorCount] = []
    wers: list[ErrorCount] = []
    t = time.process_time()
    for c, pcm in zip(clips, pcms, strict=True):
        rec = Recognizer(model)
        events = rec.accept(pcm) + rec.end()
        text = " ".join(e.text for e in events if isinstance(e, Final))
        cers.append(cer(c.reference, text))
        wers.append(wer(c.reference, text, "ko"))
    fresh_cpu = time.process_time() - t
    warm = Recognizer(model)
    warm.accept(noise(0.5) + pcms[0])  # warm-up, excluded from the timing
    warm.flush()
    warm_cers: list[ErrorCount] = []
    t = time.process_time()
    for c, pcm in zip(clips, pcms, strict=True):
        events = warm.accept(pcm + noise(1.0)) + warm.flush()
        text = " ".join(e.text for e in events if isinstance(e, Final))
        warm_cers.append(cer(c.reference, text))
    warm_cpu = time.process_time() - t
    out: dict[str, Any] = {
        "clips": len(clips),
        "audio_s": round(audio_s, 1),
        "cer": round(total(cers).rate, 4),
        "wer": round(total(wers).rate, 4),
        "cer_warm_recognizer": round(total(warm_cers).rate, 4),
        "rtf_fresh_recognizer_per_clip": round(fresh_cpu / audio_s, 3),
        "rtf_warm_recognizer": round(warm_cpu / (audio_s + len(clips)), 3),
    }
    if offline:
        off = [cer(c.reference, offline_decode(model, c.path)) for c in clips]
        out["cer_offline_plain_vosk"] = round(total(off).rate, 4)
    return out


async def paced_stream(
    model: Any,
    utterances: list[tuple[bytes, bytes]],
    executor: concurrent.futures.Executor | None = None,
    warmup: bytes = b"",
) -> dict[str, Any]:
    """Push (speech, trailing noise) pairs back to back in real time, after an unpaced,
    unmeasured warm-up; latencies per utterance end and per partial."""
    stream = TranscriptStream(model, executor=executor)
    arrivals: list[tuple[float, Any]] = []
    loop = asyncio.get_running_loop()
    measuring = asyncio.Event()

    async def consume() -> None:
        async for e in stream:
            if measuring.is_set():
                arrivals.append((loop.time(), e))

    consumer = asyncio.create_task(consume())
    pos = 0
    if warmup:
        for i in range(0, len(warmup), FRAME * 2):
            stream.push(warmup[i : i + FRAME * 2])
            await asyncio.sleep(0)
            while stream.stats.backlog_s > 1.0:
                await asyncio.sleep(0.005)
        stream.flush()
        pos = len(warmup) // 2
        while stream.stats.backlog_s > 0 or stream.recognizer_stats.samples_in < pos - 160:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
    measuring.set()
    base = pos
    dropped0 = stream.stats.dropped_s
    push_pos: list[int] = []  # samples pushed after each frame
    push_wall: list[float] = []
    utt_end_wall: list[float] = []
    utt_span: list[tuple[int, int]] = []
    t0 = loop.time()
    max_backlog = 0.0
    for speech, trailer in utterances:
        start = pos
        for part in (speech, trailer):
            for i in range(0, len(part), FRAME * 2):
                frame = part[i : i + FRAME * 2]
                stream.push(frame)
                pos += len(frame) // 2
                push_pos.append(pos)
                push_wall.append(loop.time())
                max_backlog = max(max_backlog, stream.stats.backlog_s)
                delay = t0 + (pos - base) / RATE - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            if part is speech:
                utt_end_wall.append(push_wall[-1])
        utt_span.append((start, pos))
    end_wall = loop.time()
    stream.end_input()
    await consumer

    def pushed_at(t: float) -> float:
        i = bisect.bisect_left(push_pos, round(t * RATE))
        return push_wall[min(i, len(push_wall) - 1)]

    partial_lat = [a - pushed_at(e.at) for a, e in arrivals if isinstance(e, Partial)]
    finals = [(a, e) for a, e in arrivals if isinstance(e, Final)]
    after_word = [a - pushed_at(e.t1) for a, e in finals]
    after_end: list[float] = []
    for (start_pos, end_pos), end_wall_k in zip(utt_span, utt_end_wall, strict=True):
        mine = [(a, e) for a, e in finals if start_pos / RATE <= e.t0 < end_pos / RATE]
        if mine:
            after_end.append(max(a for a, _ in mine) - end_wall_k)
    drain = (max(a for a, _ in arrivals) - end_wall) if arrivals else 0.0
    return {
        "partial": partial_lat,
        "final_after_utterance_end": after_end,
        "final_after_last_word": after_word,
        "max_backlog_s": max_backlog,
        "dropped_s": stream.stats.dropped_s - dropped0,
        "drain_s": drain,
        "finals": len(finals),
        "decode_s": stream.stats.decode_s,
        "audio_s": (pos - base) / RATE,
    }


async def phase_latency(model: Any, pcms: list[bytes], fresh_n: int) -> dict[str, Any]:
    gap = noise(1.0, seed=2)
    # Warm-up on the last clip, measured on the others (a track's recognizer lives on).
    warm = await paced_stream(model, [(p, gap) for p in pcms[:-1]], warmup=pcms[-1])
    fresh_partial: list[float] = []
    fresh_final: list[float] = []
    for p in pcms[:fresh_n]:
        r = await paced_stream(model, [(p, gap)])
        fresh_partial += r["partial"]
        fresh_final += r["final_after_utterance_end"]
    return {
        "partial_latency_s": stats(warm["partial"]),
        "final_latency_s": stats(warm["final_after_utterance_end"]),
        "final_after_last_word_s": stats(warm["final_after_last_word"]),
        "baseline_fresh_stream_per_utterance": {
            "utterances": fresh_n,
            "partial_latency_s": stats(fresh_partial),
            "final_latency_s": stats(fresh_final),
        },
        "live_decode_wall_per_audio_s": round(warm["decode_s"] / warm["audio_s"], 3),
    }


def onset(pcm: bytes) -> int:
    """Sample where the energy gate first sees voice (-50 dBFS over 10 ms)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    frames = x[: x.size - x.size % 160].reshape(-1, 160)
    loud = np.nonzero((frames**2).mean(axis=1) > (10 ** (-50 / 10)) * 32768.0**2)[0]
    return int(loud[0]) * 160 if loud.size else 0


async def first_partial(model: Any, pcm: bytes, warm: bool, executor: Any) -> float | None:
    """Speech onset pushed -> first partial, for a track's first utterance; 1 s of room
    noise before it. warm: the recognizer was built and warmed at join (TranscriptStream.open);
    else it is built when the audio starts, as before issue 13."""
    loop = asyncio.get_running_loop()
    if warm:
        stream = await TranscriptStream.open(model, executor=executor)
    audio = noise(1.0, seed=5) + pcm + noise(1.5, seed=6)
    onset_pos = RATE + onset(pcm)
    got: list[float] = []
    onset_wall = 0.0
    t0 = loop.time()
    consumer = None
    for i in range(0, len(audio) // 2, FRAME):
        if i == 0 and not warm:
            stream = TranscriptStream(model, executor=executor)
        if consumer is None:
            async def consume(s: TranscriptStream) -> None:
                async for e in s:
                    if isinstance(e, Partial) and not got:
                        got.append(loop.time())
            consumer = asyncio.create_task(consume(stream))
        stream.push(audio[2 * i : 2 * (i + FRAME)])
        if i <= onset_pos < i + FRAME:
            onset_wall = loop.time()
        await asyncio.sleep(max(0.0, t0 + (i + FRAME) / RATE - loop.time()))
    stream.end_input()
    await consumer
    return got[0] - onset_wall if got else None


async def phase_first(model: Any, pcms: list[bytes], n: int) -> dict[str, Any]:
    ex = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="asr")
    out: dict[str, Any] = {}
    for warm in (False, True):
        xs = [await first_partial(model, p, warm, ex) for p in pcms[:n]]
        out["warmed_at_join" if warm else "built_at_first_audio"] = stats([x for x in xs if x is not None])
    ex.shutdown()
    return out


def phase_silence(model: Any, seconds: float) -> dict[str, Any]:
    pcm = noise(seconds, seed=3)
    out: dict[str, Any] = {"seconds": seconds}
    for name, gate in (("gate_on", GateConfig()), ("gate_off", GateConfig(enabled=False))):
        rec = Recognizer(model, gate=gate)
        t = time.process_time()
        for i in range(0, len(pcm), FRAME * 2):
            rec.accept(pcm[i : i + FRAME * 2])
        rec.end()
        cpu = time.process_time() - t
        out[name] = {
            "cpu_s": round(cpu, 3),
            "cpu_per_audio_s": round(cpu / seconds, 5),
            "frames_fed": rec.stats.frames_fed,
            "finals": rec.stats.finals,
        }
    out["stream"] = asyncio.run(silent_streams(model, seconds))
    return out


async def silent_streams(model: Any, seconds: float, n: int = 5) -> dict[str, Any]:
    """n silent participants through TranscriptStream, 20 ms pushes as the live path makes
    them (unpaced): process CPU per second of audio per participant with silent audio taken
    on the loop (now) and with every push handed to the worker threads (before issue 13)."""
    pcm = noise(seconds, seed=4)
    out: dict[str, Any] = {"participants": n}
    ex = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="asr")
    for name, inline in (("worker_hop_per_push", False), ("quiet_on_loop", True)):
        streams = [TranscriptStream(model, executor=ex) for _ in range(n)]
        if not inline:
            for s in streams:
                s._quiet_inline = lambda: False  # type: ignore[method-assign]
        t = time.process_time()
        for i in range(0, len(pcm), FRAME * 2):
            for s in streams:
                s.push(pcm[i : i + FRAME * 2])
            await asyncio.sleep(0)
            while any(s.stats.backlog_s > 0.2 for s in streams):
                await asyncio.sleep(0.001)
        for s in streams:
            s.end_input()
            async for _ in s:
                pass
        cpu = time.process_time() - t
        out[name] = {"cpu_per_audio_s_per_participant": round(cpu / seconds / n, 5),
                     "vosk_calls": sum(s.recognizer_stats.vosk_calls for s in streams)}
    ex.shutdown()
    return out


async def try_concurrency(model: Any, pcms: list[bytes], n: int, window: float) -> dict[str, Any]:
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=n)
    try:
        # Warm each recognizer first: a live track's recognizer outlives its first stall.
        streams_audio = [pcms[k % len(pcms) :] + pcms[: k % len(pcms)] for k in range(n)]
        segs = []
        for audio in streams_audio:
            joined = b"".join(audio)
            while len(joined) < window * RATE * 2:
                joined += joined
            segs.append([(joined[: int(window * RATE) * 2], b"")])
        cpu0 = time.process_time()
        wall0 = time.monotonic()
        results = await asyncio.gather(
            *(paced_stream(model, s, executor, warmup=pcms[k % len(pcms)])
              for k, s in enumerate(segs))
        )
        cpu = time.process_time() - cpu0
        wall = time.monotonic() - wall0
    finally:
        executor.shutdown()
    worst_backlog = max(r["max_backlog_s"] for r in results)
    worst_drain = max(r["drain_s"] for r in results)
    dropped = sum(r["dropped_s"] for r in results)
    return {
        "streams": n,
        "keeps_up": worst_backlog <= 1.0 and worst_drain <= 1.0 and dropped == 0,
        "max_backlog_s": round(worst_backlog, 2),
        "drain_s": round(worst_drain, 2),
        "cpu_util": round(cpu / wall, 2),
    }


async def phase_concurrency(
    model: Any, pcms: list[bytes], window: float, ns: list[int]
) -> dict[str, Any]:
    cores = sorted(os.sched_getaffinity(0))
    core = cores[-1]
    os.sched_setaffinity(0, {core})  # this thread; the new executor's threads inherit it
    trials = []
    best = 0
    try:
        for n in ns:
            r = await try_concurrency(model, pcms, n, window)
            print(f"  one core: {n} streams -> {r}", flush=True)
            trials.append(r)
            if not r["keeps_up"]:
                break
            best = n
    finally:
        os.sched_setaffinity(0, set(cores))
    return {"core": core, "window_s": window, "max_realtime_streams_one_core": best,
            "trials": trials}


async def phase_live(model: Any, clips: list[Clip], pcms: list[bytes]) -> dict[str, Any]:
    """Clips through WebRTC, the server's media hub, vosk and the websocket, one after another."""
    import fractions
    import tempfile

    import av
    from aiortc import MediaStreamTrack

    repo = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(repo / "tests"), str(repo / "tests" / "integration")]
    from court_client import Client, media_for, registry, running_server, token_for

    lead = 1.0
    tail = 3.0
    sent: dict[str, float] = {}  # wall time each clip's audio started

    class Mic(MediaStreamTrack):  # type: ignore[misc]
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.audio = b"".join(bytes(2 * int(lead * RATE)) + p + bytes(2 * int(tail * RATE)) for p in pcms)
            self.n = 0
            self.start = 0.0

        async def recv(self) -> Any:
            if self.n == 0:
                self.start = time.monotonic()
                offset = 0.0
                for c, p in zip(clips, pcms, strict=True):
                    sent[c.path.name] = self.start + offset + lead
                    offset += lead + len(p) / 2 / RATE + tail
            await asyncio.sleep(max(0.0, self.start + self.n * FRAME / RATE - time.monotonic()))
            chunk = self.audio[self.n * FRAME * 2 : (self.n + 1) * FRAME * 2].ljust(FRAME * 2, b"\0")
            frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
            frame.planes[0].update(chunk)
            frame.sample_rate = RATE
            frame.pts, frame.time_base = self.n * FRAME, fractions.Fraction(1, RATE)
            self.n += 1
            return frame

    # Offline word times of each clip: where speech starts and ends inside it.
    spans = []
    for c in clips:
        rec = Recognizer(model, gate=GateConfig(enabled=False))
        events = rec.accept(read_pcm16k(c.path)) + rec.end()
        words = [w for e in events if isinstance(e, Final) for w in e.words]
        spans.append((words[0].t0, words[-1].t1) if words else None)

    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp), args=["--ice-loopback-only"]) as server:
        with registry(server) as http:
            hid = http.post("/api/v1/hearings", json={
                "case_number": "bench", "court": "bench", "language": "ko",
                "scheduled_for": "2026-11-23T09:00:00+09:00"}).json()["hearing_id"]
            inv = http.post(f"/api/v1/hearings/{hid}/participants",
                            json={"role": "judge", "display_name": "judge"}).json()
        judge = await Client.join(server, token_for(server, inv))
        arrivals: list[tuple[float, dict[str, Any]]] = []
        seen = 0

        async def watch() -> None:
            nonlocal seen
            while True:
                for m in judge.received[seen:]:
                    arrivals.append((time.monotonic(), m))
                seen = len(judge.received)
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        peer = await media_for(judge, inv["participant_id"], video=False, audio_track=Mic)
        total_s = sum(lead + len(p) / 2 / RATE + tail for p in pcms)
        await asyncio.sleep(total_s + 2)
        watcher.cancel()
        await peer.close()
        await judge.close()

    finals = [(t, m["event"]) for t, m in arrivals if m["type"] == "event" and m["event"]["type"] == "transcript_line"]
    partials = [t for t, m in arrivals if m["type"] == "transcript_partial"]
    final_lat, first_partial = [], []
    for c, span in zip(clips, spans, strict=True):
        if span is None:
            continue
        onset, end = sent[c.path.name] + span[0], sent[c.path.name] + span[1]
        after_end = [t for t, _ in finals if t >= end - 0.5]
        if after_end:
            final_lat.append(min(after_end) - end)
        after_onset = [t for t in partials if t >= onset]
        if after_onset:
            first_partial.append(min(after_onset) - onset)
    return {
        "clips": len(clips),
        "finals": len(finals),
        "final_after_last_word_s": stats(final_lat),
        "first_partial_after_onset_s": stats(first_partial),
    }


def cost_mode(models_dir: Path, clips: list[Clip], pcms: list[bytes]) -> int:
    from benchlib.asr_cost import compare

    stock = ModelRegistry(models_dir, search={}).load("ko")
    tuned = ModelRegistry(models_dir).load("ko")
    load = os.getloadavg()
    out = compare(stock, tuned, [c.reference for c in clips], pcms)
    out["loadavg_before_after"] = [round(load[0], 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(out, ensure_ascii=False))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path,
                    default=Path(os.environ.get("COURTROOM_SHARED_DIR",
                                                Path(__file__).resolve().parent.parent.parent / "shared")),
                    help="the data folder (default $COURTROOM_SHARED_DIR or ../shared); read only by "
                         "benchmarks, never by the tests")
    ap.add_argument("--fixtures", type=Path, default=None,
                    help="folder with the clips and manifest.tsv (default <shared>/fixtures/asr/ko)")
    ap.add_argument("--models-dir", type=Path, default=default_models_dir())
    ap.add_argument("--clips", type=int, default=6, help="evenly spaced subset size")
    ap.add_argument("--all", action="store_true", help="all clips")
    ap.add_argument("--offline-baseline", action="store_true",
                    help="also decode each clip with plain vosk (no gate)")
    ap.add_argument("--fresh", type=int, default=3, help="utterances for the fresh baseline")
    ap.add_argument("--window", type=float, default=12.0, help="concurrency trial seconds")
    ap.add_argument("--streams", default="2,4,6,8", help="concurrency trials (stop at fail)")
    ap.add_argument("--first", type=int, default=4, help="clips for the first-utterance phase")
    ap.add_argument("--skip", default="", help="comma list of phases to skip")
    ap.add_argument("--mode", choices=("phases", "cost"), default="phases",
                    help="cost: where a speaker's ASR CPU goes, stock vs tuned decoder search "
                         "(CER, CPU, first-partial and final lag), same run")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))

    fixtures = a.fixtures or a.shared / "fixtures" / "asr" / "ko"
    if not (fixtures / "manifest.tsv").is_file():
        ap.error(f"no manifest.tsv in {fixtures} (pass --shared DIR or --fixtures DIR)")
    clips = load_manifest(fixtures)
    if not a.all:
        step = max(1, len(clips) // a.clips)
        clips = clips[::step][: a.clips]
    pcms = [read_pcm16k(c.path) for c in clips]
    if a.mode == "cost":
        return cost_mode(a.models_dir, clips, pcms)
    t = time.monotonic()
    model = ModelRegistry(a.models_dir).load("ko")
    out: dict[str, Any] = {"model_load_s": round(time.monotonic() - t, 2), "language": "ko"}
    print(f"model loaded in {out['model_load_s']} s; {len(clips)} clips", flush=True)

    if "accuracy" not in skip:
        out["accuracy"] = phase_accuracy(model, clips, pcms, a.offline_baseline)
        print("accuracy/rtf:", out["accuracy"], flush=True)
    if "latency" not in skip:
        out["latency"] = asyncio.run(phase_latency(model, pcms, a.fresh))
        print("latency:", out["latency"], flush=True)
        lat = out["latency"]
        out["goals"] = {
            "final_p95_le_1s": (lat["final_latency_s"]["p95"] or 99) <= 1.0,
            "partial_p95_le_0.5s": (lat["partial_latency_s"]["p95"] or 99) <= 0.5,
        }
    if "first" not in skip:
        out["first_partial_first_utterance"] = asyncio.run(phase_first(model, pcms, a.first))
        print("first partial of a track's first utterance (onset -> partial):",
              out["first_partial_first_utterance"], flush=True)
    if "silence" not in skip:
        out["silence"] = phase_silence(model, 20.0)
        print("silence:", out["silence"], flush=True)
    if "concurrency" not in skip:
        ns = [int(x) for x in a.streams.split(",")]
        out["concurrency"] = asyncio.run(phase_concurrency(model, pcms, a.window, ns))
        print("concurrency:", {k: v for k, v in out["concurrency"].items() if k != "trials"},
              flush=True)
    if "live" not in skip:
        out["live"] = asyncio.run(phase_live(model, clips, pcms))
        print("live (WebRTC -> server -> websocket):", out["live"], flush=True)
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
