#!/usr/bin/env python
"""CPU of one broadcast composition at 640x360 and 1280x720, next to the forwarding cost of
the same hearing, both measured in this run (``benchlib/broadcast_cost.py`` says how).

The hearing: judge and plaintiff in the hearing, a witness waiting, all three publishing the
same 640x360@15 VP8 loop and Opus. Forwarding: the media worker's CPU with the hearing's 4
routes minus with none (RTP path, uvloop, as scripts/bench_media.py measures it).
Composition: the studio fed the decoded frames of that loop and that Opus, composing, mixing,
delaying and encoding (libx264 + AAC) into HLS; this process's CPU minus the same feeders
with no studio. ``scripts/bench_media.py --broadcast`` reports the same figures.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib.broadcast_cost import broadcast_vs_forwarding


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds of the forwarding figure; the median is reported")
    args = ap.parse_args()
    load_before = os.getloadavg()
    result = asyncio.run(broadcast_vs_forwarding(args.seconds, args.fps, args.repeat))
    fwd = result["forwarding_same_hearing"]
    print(f"forwarding, same hearing: {fwd['cores']:.4f} core for {fwd['streams']} streams "
          f"(server {fwd['server_with_routes_cores']:.4f} with routes, "
          f"{fwd['server_no_routes_cores']:.4f} without; min fps {fwd['min_fps']}; rounds, "
          f"per stream: {fwd['per_stream_all']})", flush=True)
    print(f"feeders only (baseline): {result['broadcast_feeders_baseline_core']:.4f} core")
    for size, run in result["broadcast_runs"].items():
        print(f"{size}@{args.fps}: composition {run['composition_cores']:.4f} core, "
              f"{result[f'broadcast_{size}_to_forwarding']}x forwarding; {run}", flush=True)
    result.update(bench="broadcast", cpu_count=os.cpu_count(),
                  loadavg_before=[round(x, 2) for x in load_before],
                  loadavg_after=[round(x, 2) for x in os.getloadavg()])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
