"""The REST operations of the review player (``api_review.py``): a hearing's recording on one
timeline with its marks, the recorded media served with range requests, and clip export."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .rest_spec_base import READERS, Error, H, Operation, Param
from .rest_spec_vision import Flag

GRANTED = READERS + "; or `?grant=` from the timeline, for media elements"

# --- request bodies -----------------------------------------------------------------------


@dataclass(frozen=True)
class ClipBody:
    participant: str
    t0: float = field(
        metadata={"doc": "timeline seconds, the start (cut from the keyframe at or before it)"}
    )
    t1: float = field(metadata={"doc": "timeline seconds, the end; at most 120 s after t0"})


# --- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewSegment:
    file: str
    start: float
    end: float
    sha256: str
    url: str = field(metadata={"doc": "with the grant: a `<video src>` can use it as it is"})


@dataclass(frozen=True)
class ReviewTrack:
    participant: str
    display_name: str | None
    role: str | None
    kind: Literal["audio", "video"]
    segments: tuple[ReviewSegment, ...]


@dataclass(frozen=True)
class ReviewLine:
    line_id: str
    speaker: str
    t0: float
    t1: float
    text: str = field(metadata={"doc": "as corrected"})
    original: str = field(metadata={"doc": "as recognised"})
    earlier: tuple[str, ...] = field(metadata={"doc": "every text the line had before"})


@dataclass(frozen=True)
class Mark:
    type: Literal["transcript", "correction", "flag", "phase", "call_in", "exhibit", "clip", "gap"]
    t: float = field(metadata={"doc": "timeline seconds"})
    t1: float | None
    participant: str | None
    label: str
    ref: str = field(metadata={"doc": "line id, flag id, clip hash or event type"})


@dataclass(frozen=True)
class ReviewClip:
    sha256: str
    participant: str
    t0: float
    t1: float
    flag_id: str | None
    url: str


@dataclass(frozen=True)
class ReviewFlag(Flag):
    at: float = field(metadata={"doc": "the flag's start on the timeline"})
    clip: ReviewClip | None = None


@dataclass(frozen=True)
class Timeline:
    hearing_id: str
    case_number: str
    title: str
    phase: str
    origin: str | None = field(
        metadata={"doc": "UTC of timeline second 0 (the first recording clock's start)"}
    )
    duration: float
    grant: str = field(metadata={"doc": "lets media elements fetch this hearing's files"})
    grant_expires_in: int
    tracks: tuple[ReviewTrack, ...]
    lines: tuple[ReviewLine, ...]
    flags: tuple[ReviewFlag, ...]
    clips: tuple[ReviewClip, ...]
    marks: tuple[Mark, ...]


REVIEW_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        H + "/review",
        "The hearing's recording on one timeline, with its marks (the view is logged)",
        READERS,
        answers=((200, "Timeline", Timeline),),
    ),
    Operation(
        "GET",
        H + "/review/media/{file}",
        "A recording segment or a clip; HTTP range requests; each view is logged",
        GRANTED,
        answers=((200, "WebM", "video/webm"), (206, "Part", "video/webm"), (401, "No", Error)),
        query=(Param("grant", "query"),),
    ),
    Operation(
        "POST",
        H + "/clips",
        "Export a clip of a participant's recording (remuxed; its hash is logged)",
        READERS,
        ClipBody,
        ((201, "Exported", ReviewClip), (404, "Nothing recorded then", Error)),
    ),
)
