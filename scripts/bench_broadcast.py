#!/usr/bin/env python
"""CPU of one broadcast composition (courtroom/broadcast/studio.py) at 640x360 and 1280x720.

The studio is fed as the server feeds it: decoded 640x360 camera frames (a moving picture,
15 fps, per participant, from a feeder thread standing in for the video taps) and real
Opus packets (50 a second per voice, into the studio's audio sinks). It composes, mixes,
delays and encodes with libx264 + AAC into HLS, as in a hearing. Measured: the process's
CPU (every thread, libx264's included, from /proc/self/task/*/schedstat) over the run, minus
the same feeders with no studio, measured in the same run (the baseline).

Forwarding the same hearing (judge and party in the hearing, a witness waiting: 2 audio and
2 video streams, each forwarded to one subscriber) is measured by scripts/bench_media.py
(RTP path: 0.0038 core per forwarded stream, docs/media.md); its figure is printed beside
this one for scale, labelled as taken from there, not measured here.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "unit"))

import av  # noqa: E402
import numpy as np  # noqa: E402
from domain_fixtures import in_phase, scheduled, with_cast  # noqa: E402

from courtroom.broadcast.mix import AudioSink  # noqa: E402
from courtroom.broadcast.studio import Studio, StudioConfig  # noqa: E402
from courtroom.domain import events as e  # noqa: E402
from courtroom.domain.hearing import evolve  # noqa: E402
from courtroom.domain.phases import Phase  # noqa: E402
from media.forward import EncodedFrame  # noqa: E402

# From docs/media.md (scripts/bench_media.py, RTP path): server CPU per forwarded stream.
FORWARD_PER_STREAM = 0.0038
STREAMS_OF_THE_HEARING = 4  # judge <-> party, audio and video; the waiting witness gets none


def cpu_seconds() -> float:
    total = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/schedstat") as fh:
                total += int(fh.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1e9


class Tap:
    """The newest decoded frame of one participant, as media/stages.LatestFrameTap keeps it."""

    def __init__(self) -> None:
        self.frame: Any = None
        self.at = 0.0
        self._lock = threading.Lock()

    def latest(self) -> tuple[Any, float] | None:
        with self._lock:
            return None if self.frame is None else (self.frame, self.at)

    def put(self, frame: Any) -> None:
        with self._lock:
            self.frame, self.at = frame, time.monotonic()


def opus_packets(seconds: float = 2.0) -> list[bytes]:
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = 48000, "stereo", "s16"
    t = np.arange(960) / 48000
    out: list[bytes] = []
    for i in range(int(seconds * 50)):
        tone = (np.sin(2 * np.pi * (200 + 20 * (i % 10)) * (t + i * 0.02)) * 6000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts = 48000, i * 960
        out += [bytes(p) for p in codec.encode(frame)]
    return out


def feeders(taps: dict[str, Tap], sinks: list[AudioSink], stop: threading.Event) -> list[threading.Thread]:
    base = np.zeros((360, 640, 3), np.uint8)
    frames = []
    for i in range(15):  # one second of a moving picture, pre-converted as a decoder gives it
        img = base.copy()
        img[:, :, 1] = 90
        img[:, (i * 40) % 600:(i * 40) % 600 + 40] = 230
        frames.append(av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p"))
    packets = opus_packets()

    def video() -> None:
        i = 0
        while not stop.wait(1 / 15):
            for tap in taps.values():
                tap.put(frames[i % len(frames)])
            i += 1

    def audio() -> None:
        i = 0
        while not stop.wait(0.02):
            for sink in sinks:
                sink.offer(EncodedFrame("audio/opus", 48000, packets[i % len(packets)], i * 960,
                                        True, time.monotonic(), 0))
            i += 1

    return [threading.Thread(target=video, daemon=True), threading.Thread(target=audio, daemon=True)]


def measure(size: tuple[int, int] | None, seconds: float, fps: int) -> dict[str, Any]:
    state = evolve(in_phase(with_cast(scheduled()), Phase.EVIDENCE), e.BroadcastStarted(1))
    for pid in ("defendant", "lawyer", "interpreter", "clerk"):  # judge and plaintiff on air
        state = evolve(state, e.BroadcastExclusionChanged(pid, True))
    taps = {"judge": Tap(), "plaintiff": Tap(), "witness": Tap()}
    sinks = [AudioSink("judge"), AudioSink("plaintiff")]
    stop = threading.Event()
    threads = feeders(taps, sinks, stop)
    for t in threads:
        t.start()
    studio = None
    with tempfile.TemporaryDirectory() as out:
        if size is not None:
            config = StudioConfig(size=size, fps=fps, delay_s=2.0)
            studio = Studio(lambda: state, taps.get, Path(out) / "hls", config)
            for sink in sinks:
                studio.add_voice(sink)
            studio.start()
        time.sleep(1.0)  # warm up (encoder start, first segments)
        c0, t0 = cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        cores = (cpu_seconds() - c0) / (time.monotonic() - t0)
        result: dict[str, Any] = {"cores": round(cores, 4)}
        if studio is not None:
            ticks, skipped = studio.ticks, studio.skipped
            studio.stop(publish_rest=True)
            result.update(ticks=ticks, skipped=skipped,
                          segments=len(list((Path(out) / "hls").glob("seg-*.ts"))),
                          error=repr(studio.error) if studio.error else None)
    stop.set()
    for t in threads:
        t.join()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fps", type=int, default=15)
    args = ap.parse_args()
    load_before = os.getloadavg()
    baseline = measure(None, args.seconds, args.fps)
    print(f"baseline (feeders only): {baseline['cores']:.4f} core", flush=True)
    runs: dict[str, Any] = {}
    for size in ((640, 360), (1280, 720)):
        got = measure(size, args.seconds, args.fps)
        got["composition_cores"] = round(got["cores"] - baseline["cores"], 4)
        runs[f"{size[0]}x{size[1]}"] = got
        print(f"{size[0]}x{size[1]}@{args.fps}: {got}", flush=True)
    forwarding = FORWARD_PER_STREAM * STREAMS_OF_THE_HEARING
    result = {
        "bench": "broadcast",
        "seconds": args.seconds,
        "fps": args.fps,
        "baseline_cores": baseline["cores"],
        "composition": runs,
        "forwarding_same_hearing_cores": round(forwarding, 4),
        "forwarding_source": "docs/media.md (scripts/bench_media.py RTP path), not measured here",
        "ratio_to_forwarding": {k: round(v["composition_cores"] / forwarding, 1) for k, v in runs.items()},
        "ratio_720_to_360": round(runs["1280x720"]["composition_cores"]
                                  / max(runs["640x360"]["composition_cores"], 1e-6), 2),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
