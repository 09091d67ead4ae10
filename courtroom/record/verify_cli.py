"""``courtroom verify RECORD.pdf [--recordings DIR] [--trust-root PEM] [--receipt FILE]...
[--tree-head FILE] [--no-pages] [--full-pages] [--at TIME]
[--report FILE.html [--lang zh-CN|en]]``.

Exit status: 0 valid, 1 a check failed, 2 bad input."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _parser(root_name: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="courtroom verify", description="Verify a sealed hearing record offline."
    )
    p.add_argument("record", type=Path, help="sealed record PDF")
    p.add_argument(
        "--recordings",
        type=Path,
        default=None,
        help="directory holding the hearing's recording files",
    )
    p.add_argument(
        "--trust-root",
        type=Path,
        default=None,
        help=f"PEM trust anchor (default: $COURTROOM_DATA_DIR/keys/{root_name})",
    )
    p.add_argument(
        "--receipt",
        type=Path,
        action="append",
        default=[],
        help="a signer's receipt (JSON) kept on their device; repeatable",
    )
    p.add_argument(
        "--tree-head", type=Path, default=None, help="a transparency-log proof bundle (JSON)"
    )
    p.add_argument(
        "--no-pages", action="store_true", help="do not compare the pages' text with record.json"
    )
    p.add_argument(
        "--report", type=Path, default=None, help="also write a human-readable HTML report"
    )
    p.add_argument("--lang", choices=("en", "zh-CN"), default="en", help="the report's language")
    p.add_argument(
        "--at",
        type=_moment,
        default=None,
        help="verify as of this ISO 8601 time (default now), e.g. years after sealing",
    )
    p.add_argument(
        "--full-pages",
        action="store_true",
        help="also re-render the pages from record.json and compare the bytes (slow; needs "
        "the same reportlab and font as the court)",
    )
    return p


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    from courtroom.paths import data_dir
    from courtroom.record.keys import ROOT_CERT, load_trust_root
    from courtroom.record.verify import Anchors, render_report, verify_record

    args = _parser(ROOT_CERT).parse_args(argv)
    # pyHanko logs each failed path build with a traceback; the report says why, once.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    root_path: Path = args.trust_root or data_dir() / "keys" / ROOT_CERT
    try:
        pdf = args.record.read_bytes()
        root = load_trust_root(root_path)
        anchors = Anchors(
            receipts=[_json(p) for p in args.receipt],
            tree_head=_json(args.tree_head) if args.tree_head else None,
        )
    except (OSError, ValueError) as exc:
        print(f"courtroom verify: {exc}", file=sys.stderr)
        return 2
    if args.recordings is not None and not args.recordings.is_dir():
        print(f"courtroom verify: not a directory: {args.recordings}", file=sys.stderr)
        return 2
    report = verify_record(
        pdf,
        trust_root=root,
        recordings_dir=args.recordings,
        source=str(args.record),
        anchors=anchors,
        pages=not args.no_pages,
        full_pages=args.full_pages,
        at=args.at,
    )
    print(render_report(report))
    if args.report is not None:
        from courtroom.record.verification.html_report import render_html

        args.report.write_text(render_html(report, args.lang), encoding="utf-8")
    return 0 if report.ok else 1
