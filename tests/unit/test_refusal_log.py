"""server/refusals.py: the first few refusals alike are logged, the rest counted, none lost."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from courtroom.domain import events as ev
from courtroom.server.refusals import SECURITY_STREAM, RefusalLog


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _log(**kw: Any) -> tuple[RefusalLog, list[tuple[str, ev.Event]], _Clock]:
    written: list[tuple[str, ev.Event]] = []
    clock = _Clock()

    async def record(stream: str, events: list[ev.Event]) -> None:
        written.extend((stream, e) for e in events)

    return RefusalLog(record, lambda: datetime.now(UTC), clock=clock, **kw), written, clock


async def test_first_few_logged_then_counted_then_summarised() -> None:
    log, written, clock = _log(per_window=3, window_s=10)
    for _ in range(50):
        await log.refuse("h-1", "p-1", "replayed token", route="GET /x", source="1.2.3.4")
    assert [type(e) for _, e in written] == [ev.AccessRefused] * 3
    clock.t = 11
    await log.flush()
    summary = written[-1][1]
    assert isinstance(summary, ev.AccessRefusedSummary) and summary.count == 47
    assert (summary.route, summary.source, summary.participant) == ("GET /x", "1.2.3.4", "p-1")
    # A new window logs again from the start; closing writes what is still counted.
    for _ in range(5):
        await log.refuse("h-1", "p-1", "replayed token", route="GET /x", source="1.2.3.4")
    await log.close()
    assert sum(isinstance(e, ev.AccessRefused) for _, e in written) == 6
    assert sum(e.count for _, e in written if isinstance(e, ev.AccessRefusedSummary)) == 49


async def test_kinds_are_counted_apart_and_always_is_never_grouped() -> None:
    log, written, _ = _log(per_window=1, window_s=10)
    for reason in ("a", "b"):
        for _ in range(3):
            await log.refuse("h-1", "", reason, route="r", source="s")
    for _ in range(7):
        await log.refuse("h-1", "p", "wrong join code", route="r", source="s", always=True)
    assert sum(1 for _, e in written if isinstance(e, ev.AccessRefused)) == 2 + 7


async def test_too_many_kinds_fall_into_one_overflow_group() -> None:
    log, written, _ = _log(per_window=1, window_s=10, max_keys=4)
    for i in range(100):
        await log.refuse("h-1", "", "bad", route="r", source=f"10.0.0.{i}")
    await log.close()
    singles = [(s, e) for s, e in written if isinstance(e, ev.AccessRefused)]
    summaries = [(s, e) for s, e in written if isinstance(e, ev.AccessRefusedSummary)]
    assert len(singles) == 5  # 4 tracked sources, then the overflow group's first
    assert summaries == [(SECURITY_STREAM, summaries[0][1])] and summaries[0][1].count == 95
