#!/usr/bin/env python3
"""Benchmark clips: an evidence or exported clip cut by remux (``media/clips.py``) against the
baseline of making the same clip (its span from the keyframe on) by re-encoding it (decode,
VP8 encode), in the same run.

A synthetic recording made by the recorder itself (``media/recording.py``): --seconds of
640x360 VP8 at 15 fps (a keyframe every 10 s, as the recorder asks at segment boundaries) and
Opus audio, in 10 s segments. The clip is 8 s (4 s before and after a flag) across a segment
boundary. Times are the median of --runs, wall and this process's CPU; the machine may be
shared, so the load average is printed with the figures. The last line is one JSON object.

    .venv/bin/python scripts/bench_review.py [--seconds 30] [--runs 5]
"""

from __future__ import annotations

import argparse
import fractions
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from media.clips import Source, cut
from media.forward import EncodedFrame
from media.recording import FinishedFile, RecordingClock, TrackRecorder

W, H, FPS = 640, 360, 15


def record(folder: Path, seconds: float) -> list[FinishedFile]:
    clock = RecordingClock()
    origin = -clock.at(0.0)
    done: list[FinishedFile] = []
    enc: Any = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = W, H, "yuv420p"
    enc.time_base = fractions.Fraction(1, FPS)
    enc.bit_rate = 800_000
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    video = TrackRecorder(folder, "p1", "video", clock, done.append, segment_seconds=10.0)
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    for i in range(int(seconds * FPS)):
        rgb = np.roll(base, i * 4, axis=1)  # moving texture: a realistic bitrate
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        frame.pict_type = av.video.frame.PictureType.I if i % (10 * FPS) == 0 else 0
        for p in enc.encode(frame):
            t = float(p.pts) / FPS
            video.offer(EncodedFrame("video/VP8", 90000, bytes(p), int(t * 90000),
                                     bool(p.is_keyframe), origin + t, 0))
    video.close()
    aenc: Any = av.CodecContext.create("libopus", "w")
    aenc.sample_rate, aenc.layout, aenc.format = 48000, "mono", "s16"
    audio = TrackRecorder(folder, "p1", "audio", clock, done.append, segment_seconds=10.0)
    for i in range(int(seconds * 50)):
        pcm = (np.sin(np.arange(960) / 7.0) * 3000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, i * 960
        for p in aenc.encode(frame):
            t = i / 50
            audio.offer(EncodedFrame("audio/opus", 48000, bytes(p), int(t * 48000), True,
                                     origin + t, 0))
    audio.close()
    return done


def reencode(sources: list[Source], t0: float, t1: float, out: Path) -> None:
    """The baseline: decode the span and encode it again (what a naive export would do)."""
    with av.open(str(out), "w", format="webm") as container:
        stream: Any = container.add_stream("libvpx", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.bit_rate = 800_000
        stream.options = {"deadline": "realtime", "cpu-used": "8"}
        n = 0
        for s in sorted((s for s in sources if s.kind == "video"), key=lambda s: s.start):
            with av.open(str(s.path)) as src:
                for frame in src.decode(video=0):
                    t = s.start + float(frame.time or 0.0)
                    if t0 <= t <= t1:
                        frame.pts, n = n, n + 1
                        frame.time_base = fractions.Fraction(1, FPS)
                        for p in stream.encode(frame):
                            container.mux(p)
        for p in stream.encode():
            container.mux(p)


def measure(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        done = record(folder / "rec", args.seconds)
        sources = [Source(f.path, f.kind, f.start, f.end) for f in done]
        t0, t1 = 8.0, 16.0  # across the segment boundary at 10 s
        clip = cut(sources, t0, t1, folder / "clips")
        remux_s, remux_cpu = measure(lambda: cut(sources, t0, t1, folder / "clips"), args.runs)
        base_s, base_cpu = measure(
            lambda: reencode(sources, clip.t0, clip.t1, folder / "reencoded.webm"), args.runs
        )
    load = os.getloadavg()
    figures = {
        "clip_span_s": round(clip.t1 - clip.t0, 3),
        "clip_starts_at_keyframe_s": clip.t0,
        "clip_bytes": clip.bytes,
        "remux_s": round(remux_s, 4),
        "remux_cpu_s": round(remux_cpu, 4),
        "baseline_reencode_s": round(base_s, 4),
        "baseline_reencode_cpu_s": round(base_cpu, 4),
        "speedup_wall": round(base_s / remux_s, 1),
        "speedup_cpu": round(base_cpu / max(remux_cpu, 1e-6), 1),
        "video": f"{W}x{H} VP8 {FPS} fps",
        "runs": args.runs,
        "loadavg_1_5_15": [round(x, 2) for x in load],
    }
    print(
        f"clip {clip.t0:.1f}-{clip.t1:.1f} s ({clip.bytes} bytes): remux {remux_s * 1000:.1f} ms "
        f"({remux_cpu * 1000:.1f} ms CPU), re-encode baseline {base_s * 1000:.0f} ms "
        f"({base_cpu * 1000:.0f} ms CPU); load average {load[0]:.2f}"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
