"""``courtroom archive-renew RECORD.pdf``: extend a sealed record's PAdES B-LTA chain.

A document timestamp proves that everything before it existed at its time, as long as
its time-stamp authority's certificate can still be validated. Before that certificate
expires (or its algorithm weakens), the archive adds, in one more incremental update,
the current revocation information for the last timestamp to the Document Security Store
and then a new document timestamp over the whole file, normally from a TSA certificate
that lives longer. Each renewal keeps every earlier byte, so every earlier signature and
the manifest's prefix hash still verify; ``courtroom verify`` walks the chain.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
from collections.abc import Sequence
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper

from courtroom.record.keys import CourtKeys
from courtroom.record.pdfa import hoisted_xmp_namespaces
from courtroom.record.revocation import signing_validation_context


def archive_renew(
    pdf: bytes,
    keys: CourtKeys,
    timestamper: TimeStamper,
    *,
    now: dt.datetime | None = None,
) -> bytes:
    """The record with fresh revocation info and one more document timestamp appended."""
    reader = PdfFileReader(io.BytesIO(pdf))
    tsa_cert = getattr(getattr(timestamper, "tsa", None), "cert", None)
    extra = (tsa_cert,) if tsa_cert is not None else ()
    vc = signing_validation_context(keys, extra_certs=extra, now=now)
    out = io.BytesIO()
    with hoisted_xmp_namespaces():
        PdfTimeStamper(timestamper).update_archival_timestamp_chain(
            reader, vc, in_place=False, output=out
        )
    return out.getvalue()


def court_timestamper(keys: CourtKeys) -> TimeStamper:
    """``COURTROOM_TSA_URL`` if set, else the local TSA of the key directory."""
    import os

    from pyhanko.sign.timestamps import HTTPTimeStamper

    from courtroom.record.tsa import LocalTimeStamper, TimeStampAuthority

    url = os.environ.get("COURTROOM_TSA_URL", "").strip()
    if url:
        return HTTPTimeStamper(url)
    if keys.tsa_cert is None or keys.tsa_key is None:
        raise ValueError("no local TSA certificate in the keys directory and no TSA URL")
    return LocalTimeStamper(TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root]))


def main(argv: Sequence[str] | None = None) -> int:
    """Renew in place (or to --out) with the court's keys and configured TSA."""
    from courtroom.paths import data_dir
    from courtroom.record.keys import load_court_keys

    p = argparse.ArgumentParser(
        prog="courtroom archive-renew",
        description="Add a document timestamp to a sealed record (PAdES B-LTA renewal).",
    )
    p.add_argument("record", type=Path)
    p.add_argument("--out", type=Path, default=None, help="write here (default: in place)")
    p.add_argument("--keys", type=Path, default=None, help="key directory (default: data dir)")
    args = p.parse_args(argv)
    try:
        keys = load_court_keys(args.keys or data_dir() / "keys")
        renewed = archive_renew(args.record.read_bytes(), keys, court_timestamper(keys))
    except (OSError, ValueError) as exc:
        print(f"courtroom archive-renew: {exc}", file=sys.stderr)
        return 2
    (args.out or args.record).write_bytes(renewed)
    print(f"renewed: {args.out or args.record} ({len(renewed)} bytes)")
    return 0
