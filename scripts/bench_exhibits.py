#!/usr/bin/env python3
"""What an exhibit costs the server: the content check of an upload (a child process parses
the PDF), rendering one page to PNG (pdftoppm), and refusing a 1 GiB Flate bomb, beside two
baselines measured in the same run: SHA-256 of the same bytes (what every upload pays anyway)
and starting a bare Python child under the same limits (the fixed cost of parsing out of process).

    scripts/bench_exhibits.py [--pages 20] [--runs 5]

Prints one JSON object on its last line. Uses only files it makes (reportlab), no shared data.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import exhibit_samples as samples  # noqa: E402

from courtroom.server.exhibit_files import ExhibitRefused, ExhibitStore, _child, inspect  # noqa: E402


def _median_ms(times: list[float]) -> float:
    return round(statistics.median(times) * 1000, 1)


async def _run(pages: int, runs: int) -> dict[str, object]:
    pdf = samples.loan_pdf(pages)
    bomb = samples.bomb_pdf()
    hashing, child, checking, rendering, refusing = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            t = time.perf_counter()
            for _ in range(100):
                hashlib.sha256(pdf).hexdigest()
            hashing.append((time.perf_counter() - t) / 100)
            t = time.perf_counter()
            await _child([sys.executable, "-c", "pass"], b"")
            child.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert (await inspect(pdf)) == ("application/pdf", pages)
            checking.append(time.perf_counter() - t)
            store = ExhibitStore(Path(tmp) / str(i))
            sha = store.save("h", pdf, "application/pdf")
            t = time.perf_counter()
            await store.page("h", sha, "application/pdf", 1 + i % pages)
            rendering.append(time.perf_counter() - t)
            t = time.perf_counter()
            try:
                await inspect(bomb)
                raise AssertionError("the bomb was accepted")
            except ExhibitRefused:
                refusing.append(time.perf_counter() - t)
    base = statistics.median(hashing)
    return {
        "bench": "exhibits",
        "pdf_pages": pages,
        "pdf_bytes": len(pdf),
        "runs": runs,
        "baseline_sha256_ms": round(base * 1000, 3),
        "baseline_bare_child_ms": _median_ms(child),
        "upload_check_ms": _median_ms(checking),
        "page_render_ms": _median_ms(rendering),
        "bomb_refusal_ms": _median_ms(refusing),
        "upload_check_over_bare_child": round(statistics.median(checking) / statistics.median(child), 2),
        "page_render_over_bare_child": round(statistics.median(rendering) / statistics.median(child), 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_run(args.pages, args.runs))))


if __name__ == "__main__":
    main()
