#!/usr/bin/env python
"""The discipline watch's pace, replayed: checks per second and flags, paced against every tick.

    python scripts/bench_watch_pace.py --data /work/shared --seconds 140

Load-independent: the same frames as `scripts/bench_capacity.py` (the webcam clip of
`<data>/fixtures/vision/videos/pai_eye_center_focus.mp4`, 640x360 VP8 decoded here; one
participant leaves the frame for 6 s every 14 s, three stay in frame), ticked at 1 fps on a
simulated clock, each watched participant at its own phase. Every frame the pace sends is
checked by the real checker (YOLOX + face checks, `CHEAP_CHECKS`) and fed to the real debouncer.
The baseline, in the same run, checks every tick (`COURTROOM_VISION_PACE=off`). Printed: checks
per participant-second, CPU per check (`time.thread_time`, so other work on the machine does
not inflate it much), the vision checks' CPU per five-party hearing (four watched) and the
flags each way (they must be the same flags, opened no later than one tick apart). The
decoding of every publisher's video for the tap (about 0.1 core per hearing) is not in these
figures: the pace does not change it. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts"), str(REPO / "tests"), str(REPO / "tests" / "integration")]

import av  # noqa: E402
from bench_capacity import FPS, video_loop  # noqa: E402

from courtroom.server.watch_pace import PaceConfig, WatchPace, luma_thumb  # noqa: E402
from courtroom.vision.checks import CHEAP_CHECKS  # noqa: E402
from courtroom.vision.debounce import Debouncer  # noqa: E402
from courtroom.vision.faces import FaceOptions  # noqa: E402
from courtroom.vision.worker import CheckerConfig, to_rgb  # noqa: E402

WATCHED = {"plaintiff": "calm", "defendant": "calm", "lawyer": "leaving", "witness": "calm"}


def decode(packets: list[bytes]) -> tuple[list[Any], float]:
    """The frames, and the CPU seconds per frame it took (what a video tap spends)."""
    codec = av.CodecContext.create("libvpx", "r")
    frames: list[Any] = []
    c = time.thread_time()
    for data in packets:
        frames.extend(codec.decode(av.Packet(data)))
    return frames, (time.thread_time() - c) / max(1, len(packets))


class Checks:
    """The real checker, run once per distinct frame (the replay shows the same frames both
    ways); CPU per check measured on the checks actually run."""

    def __init__(self, model_path: Path, quick_first: bool = True) -> None:
        options = FaceOptions(quick_first=quick_first)  # False: the full HOG pass every check
        self.checker = CheckerConfig(model_path=model_path, face_options=options).build()
        self.cache: dict[tuple[str, int], Any] = {}
        self.cpu: list[float] = []

    def observe(self, loop: str, index: int, frame: Any, t: float) -> Any:
        key = (loop, index)
        if key not in self.cache:
            c = time.thread_time()
            self.cache[key] = self.checker.observe(0.0, to_rgb(frame), checks=CHEAP_CHECKS)
            self.cpu.append(time.thread_time() - c)
        return dataclasses.replace(self.cache[key], t=t)


def replay(paced: bool, loops: dict[str, list[Any]], checks: Checks, seconds: int,
           n_face: int, watched: dict[str, str]) -> dict[str, Any]:
    config = PaceConfig(enabled=paced)
    out: dict[str, Any] = {"checks": 0, "ticks": 0, "flags": [], "left_at": [], "by_participant": {}}
    for k, (name, loop) in enumerate(watched.items()):
        frames = loops[loop]
        pace, debounce = WatchPace(config), Debouncer(name)
        phase = round(k * 0.618 % 1.0 * FPS)  # staggered, as DisciplineWatch.next_phase
        for tick in range(seconds):
            index = (tick * FPS + phase) % len(frames)
            frame, t = frames[index], float(tick)
            out["ticks"] += 1
            before = ((tick - 1) * FPS + phase) % len(frames)
            if loop == "leaving" and index >= n_face and (tick == 0 or before < n_face):
                out["left_at"].append(t)  # the first tick whose frame shows the empty room
            thumb = luma_thumb(frame)
            if not pace.due(t, thumb):
                continue
            out["checks"] += 1
            out["by_participant"][name] = out["by_participant"].get(name, 0) + 1
            obs = checks.observe(loop, index, frame, t)
            flags = debounce.feed(obs)
            pace.observed(t, thumb, (obs.faces, obs.persons, bool(obs.phone_score)))
            if flags or debounce.open_flags or obs.phone_score:
                pace.cue(t)
            out["flags"] += [(name, f.kind.value, f.t0, f.t1, f.evidence_frame_t) for f in flags
                             if f.t1 is None]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="shared data (fixtures/vision)")
    ap.add_argument("--seconds", type=int, default=140, help="simulated seconds per participant")
    ap.add_argument("--all-leave", action="store_true", help="all four leave every 14 s")
    args = ap.parse_args()
    watched = dict.fromkeys(WATCHED, "leaving") if args.all_leave else WATCHED
    clip = args.data / "fixtures" / "vision" / "videos" / "pai_eye_center_focus.mp4"
    leaving, n_face = video_loop(clip)
    (leaving_frames, decode_cpu), (calm_frames, _) = decode(leaving), decode(video_loop(clip, empty_s=0.0)[0])
    loops = {"leaving": leaving_frames, "calm": calm_frames}
    checks = Checks(REPO / "courtroom" / "vision" / "models" / "yolox_nano.onnx")
    base = replay(False, loops, checks, args.seconds, n_face, watched)
    paced = replay(True, loops, checks, args.seconds, n_face, watched)
    cpu = sum(checks.cpu) / max(1, len(checks.cpu))
    # Baseline in the same run: the same paced replay with the full face pass on every check.
    full_checks = Checks(REPO / "courtroom" / "vision" / "models" / "yolox_nano.onnx", False)
    full_pass = replay(True, loops, full_checks, args.seconds, n_face, watched)
    cpu_full = sum(full_checks.cpu) / max(1, len(full_checks.cpu))
    n_watched = len(watched)
    decode_cores = round(decode_cpu * FPS * (n_watched + 1), 3)  # every publisher's video

    def cores(r: dict[str, Any]) -> float:
        return round(r["checks"] / r["ticks"] * n_watched * cpu, 3)

    base_flags = {(n, k, t0) for n, k, t0, _, _ in base["flags"]}
    late = [p[4] - b[4] for p in paced["flags"] for b in base["flags"] if p[:3] == b[:3]]
    result = {
        "seconds": args.seconds,
        "watched": watched,
        "tap_decode_cores_per_hearing": decode_cores,
        "tap_decode_cpu_per_frame_s": round(decode_cpu, 5),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpu_per_check_s": round(cpu, 4),
        "baseline_every_tick": {"checks_per_participant_s": round(base["checks"] / base["ticks"], 3),
                                "check_cores_per_hearing": cores(base), "flags": len(base["flags"])},
        "paced": {"checks_per_participant_s": round(paced["checks"] / paced["ticks"], 3),
                  "check_cores_per_hearing": cores(paced), "flags": len(paced["flags"]),
                  "checks_per_s": {n: round(c / args.seconds, 3) for n, c in paced["by_participant"].items()}},
        "vision_cores_per_hearing_with_tap_decoding": {
            "baseline": round(cores(base) + decode_cores, 3), "paced": round(cores(paced) + decode_cores, 3)},
        "ratio_paced_vs_baseline": round(paced["checks"] / max(1, base["checks"]), 3),
        "full_face_pass_baseline": {
            "cpu_per_check_s": round(cpu_full, 4),
            "paced_check_cores_per_hearing": round(
                full_pass["checks"] / full_pass["ticks"] * n_watched * cpu_full, 3),
            "same_flags_as_quick_first": {(n, k, t0) for n, k, t0, _, _ in full_pass["flags"]}
            == {(n, k, t0) for n, k, t0, _, _ in paced["flags"]},
        },
        "ratio_cpu_per_check_quick_first_vs_full": round(cpu / max(1e-9, cpu_full), 3),
        "same_flags": {(n, k, t0) for n, k, t0, _, _ in paced["flags"]} == base_flags,
        "flag_opened_later_than_baseline_s": {"max": max(late, default=None), "n": len(late)},
        # Ticks from the first empty frame to the first empty frame checked (the flag's t0):
        # 0 means the pace saw the room empty at the same tick as checking every tick would.
        "left_frame_seen_after_s": sorted(
            f[2] - max(t for t in paced["left_at"] if t <= f[2])
            for f in paced["flags"] if f[1] == "left_frame" and any(t <= f[2] for t in paced["left_at"])),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
