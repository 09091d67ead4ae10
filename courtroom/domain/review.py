"""Reviewing a hearing's recording: evidence clips, exported clips, views, the clock's origin.

These events are the bench's and the inspectors' (``visibility._BENCH_ONLY``): a flagged
participant is not told that a clip of them was kept or watched. Times are seconds on the
hearing's recording clock; ``RecordingClockStarted`` ties that clock to UTC, so events
logged by wall-clock time alone (phase changes, call-ins) can be placed on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import Event, register_event

# What a view was of (``RecordingViewed.what``).
VIEWED = ("timeline", "recording", "clip")


@dataclass(frozen=True)
class RecordingClockStarted(Event):
    """A media room started its recording clock: second 0 of it is ``origin`` (ISO 8601 UTC).
    A room made again (a restart, another node) starts a new clock and logs it again."""

    TYPE = "recording_clock_started"
    origin: str


@dataclass(frozen=True)
class EvidenceClipKept(Event):
    """A few seconds of the flagged participant's recording around a flag, cut by remux
    from the segments named in ``sources``; kept by hash beside the snapshot."""

    TYPE = "evidence_clip_kept"
    flag_id: str
    participant: str
    sha256: str
    bytes: int
    t0: float
    t1: float
    sources: tuple[str, ...]


@dataclass(frozen=True)
class EvidenceClipMissing(Event):
    """No clip could be cut for a flag (nothing recorded then, or the cut failed)."""

    TYPE = "evidence_clip_missing"
    flag_id: str
    participant: str
    reason: str


@dataclass(frozen=True)
class ClipExported(Event):
    """A reviewer exported a clip of a participant's recording (remuxed, not re-encoded)."""

    TYPE = "clip_exported"
    participant: str
    sha256: str
    bytes: int
    t0: float
    t1: float
    sources: tuple[str, ...]


@dataclass(frozen=True)
class RecordingViewed(Event):
    """Someone opened the review timeline, a recording segment or a clip (``what``);
    ``item`` names the file (empty for the timeline). Repeated range requests for one file
    by one viewer are one view per few minutes (see api_review.VIEW_WINDOW_S)."""

    TYPE = "recording_viewed"
    what: str
    item: str


REVIEW_EVENTS: tuple[type[Event], ...] = (
    RecordingClockStarted,
    EvidenceClipKept,
    EvidenceClipMissing,
    ClipExported,
    RecordingViewed,
)
for _cls in REVIEW_EVENTS:
    register_event(_cls)
