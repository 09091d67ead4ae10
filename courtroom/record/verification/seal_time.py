"""When the seal was made, against when the hearing closed, and who says so.

The seal's RFC 3161 genTime must not be before ``closed_at`` (a record cannot be sealed
before the hearing it records closed), and not later than ``MAX_SEAL_DELAY`` after it:
signatures are collected in the days after a close, and a record sealed much later has
had a long window for the log to be rewritten before anything outside the court saw it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from courtroom.record.document import RecordDocument
from courtroom.record.tsa import LOCAL_TSA_POLICY
from courtroom.record.verification.pdf_checks import SealTimestamp
from courtroom.record.verification.report import VerificationReport

MAX_SEAL_DELAY = dt.timedelta(days=30)
LOCAL_LABEL = "LOCAL time-stamp authority (development: proves only this server's clock)"


def parse_utc(text: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(text)
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _when(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_tsa(stamp: SealTimestamp) -> str:
    if stamp.policy == LOCAL_TSA_POLICY:
        return f"{stamp.tsa}, a {LOCAL_LABEL}"
    return f"{stamp.tsa} (policy {stamp.policy})"


def _problem(stamp: SealTimestamp, closed: dt.datetime, bound: dt.timedelta) -> str | None:
    slack = dt.timedelta(seconds=stamp.accuracy_s + 1)  # genTime is whole seconds
    if stamp.gen_time + slack < closed:
        return (
            f"the seal's timestamp (genTime {_when(stamp.gen_time)}) is before the hearing "
            f"closed ({_when(closed)}): sealed before the record existed, or back-dated"
        )
    if stamp.gen_time - closed > bound:
        days = (stamp.gen_time - closed).days
        return (
            f"the seal's timestamp (genTime {_when(stamp.gen_time)}) is {days} days after the "
            f"close ({_when(closed)}), more than the {bound.days}-day bound"
        )
    return None


def check_seal_time(
    doc: RecordDocument,
    stamps: Sequence[SealTimestamp],
    report: VerificationReport,
    bound: dt.timedelta = MAX_SEAL_DELAY,
) -> None:
    if not stamps:
        report.fail("timestamp.time", "the seal carries no RFC 3161 timestamp")
        return
    stamp = stamps[0]
    try:
        closed = parse_utc(doc.meta.closed_at)
    except ValueError:
        report.fail("timestamp.time", f"closed_at {doc.meta.closed_at!r} is not an ISO 8601 time")
        return
    problem = _problem(stamp, closed, bound)
    if problem is not None:
        report.fail("timestamp.time", problem)
    else:
        report.add(
            "timestamp.time",
            "ok",
            f"sealed at {_when(stamp.gen_time)}, {stamp.gen_time - closed} after the close "
            f"(bound: not before it, at most {bound.days} days after)",
        )
    local = stamp.policy == LOCAL_TSA_POLICY
    report.add("timestamp.authority", "warning" if local else "ok", describe_tsa(stamp))
