#!/usr/bin/env python3
"""Benchmark the sealed record: render, render + seal (PAdES B-LTA, local TSA), verify.

A synthetic 2,000-line zh/en transcript with three record signatures, a witness oath and
a refusal, its log made of the domain's own events. Goals (issues 6 and 12): render + seal
<= 2 s, verify with full reconciliation <= 0.5 s. ``verify_s`` is everything
``courtroom verify`` does by default (PAdES, padding, manifest, chain, the document rebuilt
from the log, keys and signatures reconciled both ways, genTime, and each page's text read
and compared with record.json); ``verify_no_pages_s`` is the same without the page check
(``--no-pages``), ``verify_pages_s`` the difference. The baseline, measured in the same
run, is the previous default: the pages re-rendered with reportlab and compared byte for
byte (``--full-pages``), ``verify_baseline_full_pages_s``; ``verify_speedup`` is baseline /
verify_s. Times are the median of --runs warm runs (font already parsed; its one-off load
is reported separately), wall clock; ``*_cpu_s`` is this process's CPU time for the same
runs, steadier on a shared machine. The last line of output is one JSON object with the
figures. ``render_seal_s`` seals PAdES B-LTA (the default: DSS with the CRL, then a
document timestamp); ``seal_b_lta_s`` is the seal alone on rendered bytes, against
``seal_baseline_b_t_s`` (``lta=False``, the previous B-T seal) in the same run.

    .venv/bin/python scripts/bench_record.py [--lines 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def timed(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    wall, _, result = timed_cpu(fn, runs)
    return wall, result


def timed_cpu(fn: Callable[[], T], runs: int) -> tuple[float, float, T]:
    """Median wall and median CPU seconds of ``runs`` calls, and the last result."""
    walls: list[float] = []
    cpus: list[float] = []
    result: T | None = None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    assert result is not None
    return statistics.median(walls), statistics.median(cpus), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--distinct",
        type=int,
        default=0,
        help="spread this many extra distinct CJK characters over the lines (stresses the "
        "font subsetter; SIGNING-NOTES used ~3,700)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the sealed PDF here")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from courtroom.record.keys import init_keys, load_court_keys
    from courtroom.record.pdf import render_pdf
    from courtroom.record.sample import build_sample
    from courtroom.record.seal import seal_record
    from courtroom.record.tsa import LocalTimeStamper, TimeStampAuthority
    from courtroom.record.verify import verify_record

    import_s = time.perf_counter() - t0

    keys_dir = tempfile.TemporaryDirectory()  # kept: B-LT issues a CRL from the dev root
    init_keys(keys_dir.name)
    keys = load_court_keys(keys_dir.name)
    assert keys.tsa_cert is not None and keys.tsa_key is not None
    stamper = LocalTimeStamper(TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root]))
    from courtroom.record.pdf import _load_font, font_spec
    from courtroom.record.sample import transcript_text

    t0 = time.perf_counter()
    cmap = _load_font(*font_spec()).cmap  # parses and registers the font once per process
    font_load_s = time.perf_counter() - t0
    pool = [chr(c) for c in range(0x4E00, 0x9FA6) if c in cmap][: args.distinct]
    per_line = -(-len(pool) // args.lines) if pool else 0

    def text(i: int) -> str:
        return transcript_text(i) + "".join(pool[i * per_line : (i + 1) * per_line])

    sample = build_sample(args.lines, text=text)

    def render() -> bytes:
        return render_pdf(sample.doc, sample.signatures, sample.refusals, sample.strokes)

    def render_and_seal() -> bytes:
        return seal_record(
            render(),
            sample.doc,
            sample.entries,
            sample.signatures,
            keys,
            stamper,
            refusals=sample.refusals,
            strokes=sample.strokes,
        )

    def seal(lta: bool) -> bytes:
        return seal_record(
            rendered,
            sample.doc,
            sample.entries,
            sample.signatures,
            keys,
            stamper,
            refusals=sample.refusals,
            strokes=sample.strokes,
            lta=lta,
        )

    render_s, rendered = timed(render, args.runs)
    render_seal_s, sealed = timed(render_and_seal, args.runs)
    seal_lta_s, _ = timed(lambda: seal(True), args.runs)
    seal_bt_s, _ = timed(lambda: seal(False), args.runs)
    verify_s, verify_cpu_s, report = timed_cpu(
        lambda: verify_record(sealed, trust_root=keys.root), args.runs
    )
    fast_s, fast_cpu_s, fast = timed_cpu(
        lambda: verify_record(sealed, trust_root=keys.root, pages=False), args.runs
    )
    base_s, base_cpu_s, base = timed_cpu(
        lambda: verify_record(sealed, trust_root=keys.root, pages=False, full_pages=True),
        args.runs,
    )
    if not (report.ok and fast.ok and base.ok):
        for c in report.failures + base.failures:
            print(f"FAILED {c.name}: {c.message}")
        return 1
    if args.out:
        args.out.write_bytes(sealed)
    figures = {
        "lines": args.lines,
        "distinct_chars": len({c for t in sample.doc.transcript for c in t.text}),
        "runs": args.runs,
        "import_s": round(import_s, 3),
        "font_load_s": round(font_load_s, 3),
        "render_s": round(render_s, 3),
        "render_seal_s": round(render_seal_s, 3),
        "seal_only_s": round(render_seal_s - render_s, 3),
        "seal_b_lta_s": round(seal_lta_s, 3),
        "seal_baseline_b_t_s": round(seal_bt_s, 3),
        "seal_b_lta_ratio": round(seal_lta_s / seal_bt_s, 2),
        "goal_seal_b_lta_s": 2.0,
        "seal_b_lta_ok": render_seal_s <= 2.0,
        "verify_s": round(verify_s, 3),
        "verify_no_pages_s": round(fast_s, 3),
        "verify_pages_s": round(verify_s - fast_s, 3),
        "verify_cpu_s": round(verify_cpu_s, 3),
        "verify_no_pages_cpu_s": round(fast_cpu_s, 3),
        "verify_baseline_full_pages_s": round(base_s, 3),
        "verify_baseline_full_pages_cpu_s": round(base_cpu_s, 3),
        "verify_speedup": round(base_s / verify_s, 2),
        "rendered_bytes": len(rendered),
        "sealed_bytes": len(sealed),
        "goal_render_seal_s": 2.0,
        "goal_verify_s": 0.5,
        "render_seal_ok": render_seal_s <= 2.0,
        "verify_ok": verify_s <= 0.5,
        "verify_no_pages_ok": fast_s <= 0.5,
    }
    print(
        f"render {render_s:.3f} s, render+seal B-LTA {render_seal_s:.3f} s (goal 2 s; seal "
        f"alone {seal_lta_s:.3f} s, B-T {seal_bt_s:.3f} s), "
        f"verify {verify_s:.3f} s (goal 0.5 s; {fast_s:.3f} s without the page check; "
        f"baseline re-rendering the pages {base_s:.3f} s), "
        f"{len(sealed)} bytes"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
