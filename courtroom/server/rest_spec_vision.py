"""The REST operations of identity photos and the discipline watch (``api_vision.py``):
the watch's state, flags, their review, evidence snapshots and recording segments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .rest_spec_base import ANYONE, INSPECTOR, JSON_ANY, READERS, Error, H, Operation, Param

# --- request bodies -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewBody:
    disposition: Literal["confirmed", "dismissed"]
    note: str = field(default="", metadata={"doc": ""})


# --- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdPhotoOut:
    participant_id: str
    sha256: str
    seq: int


@dataclass(frozen=True)
class HearingVisionOut:
    active: bool
    clock: float | None = field(metadata={"doc": "the hearing's recording clock now, seconds"})
    watched: tuple[str, ...]
    samples: int


@dataclass(frozen=True)
class Flag:
    hearing_id: str
    case_number: str
    flag_id: str
    participant: str
    role: str | None
    display_name: str | None
    kind: str
    t0: float
    t1: float | None
    open: bool
    confidence: float
    evidence_sha256: str
    evidence_t: float
    evidence_url: str | None
    recordings_url: str
    clip_sha256: str | None = field(metadata={"doc": "the flag's evidence clip, once cut"})
    clip_url: str | None = field(metadata={"doc": "plays it (inspector key, or a grant)"})
    disposition: str = field(metadata={"doc": "`pending`, `confirmed` or `dismissed`"})
    note: str


@dataclass(frozen=True)
class Flags:
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class FlagStats:
    kinds: dict[str, dict[str, Any]] = field(
        metadata={"doc": "per kind: raised, confirmed, dismissed, pending, rate"}
    )
    total: dict[str, Any]


@dataclass(frozen=True)
class ReviewOut:
    seq: int
    flag: Flag | None


@dataclass(frozen=True)
class Segment:
    file: str
    kind: str
    start: float
    end: float
    sha256: str
    bytes: int
    url: str
    flag_offset: float


@dataclass(frozen=True)
class FlagRecordings:
    flag: Flag
    window: tuple[float | None, ...]
    segments: tuple[Segment, ...]


# --- operations -----------------------------------------------------------------------------

VISION_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/api/v1/vision/status",
        "The discipline watch's models and state",
        ANYONE,
        answers=((200, "Status", JSON_ANY),),
    ),
    Operation(
        "GET",
        H + "/vision",
        "The watch over one hearing",
        READERS,
        answers=((200, "Watch", HearingVisionOut),),
    ),
    Operation(
        "POST",
        H + "/participants/{participant_id}/id-photo",
        "Register a participant's ID photo (JPEG or PNG body)",
        "registry key, or the judge's, clerk's or kiosk supervisor's session token",
        "image/jpeg",
        ((201, "Registered", IdPhotoOut), (413, "Too large", Error)),
    ),
    Operation(
        "GET",
        "/api/v1/flags",
        "Discipline flags, all hearings",
        INSPECTOR,
        answers=((200, "Flags", Flags),),
        query=(
            Param("hearing", "query"),
            Param("kind", "query"),
            Param("disposition", "query", Literal["confirmed", "dismissed", "pending"]),
            Param("participant", "query"),
        ),
    ),
    Operation(
        "GET",
        "/api/v1/flags/stats",
        "Flags per kind and dismissal rates",
        INSPECTOR,
        answers=((200, "Stats", FlagStats),),
        query=(Param("hearing", "query"),),
    ),
    Operation(
        "POST",
        H + "/flags/{flag_id}/review",
        "Confirm or dismiss a flag",
        INSPECTOR,
        ReviewBody,
        ((200, "Reviewed", ReviewOut),),
    ),
    Operation(
        "GET",
        H + "/flags/{flag_id}/recordings",
        "The flagged participant's recording segments around the flag",
        READERS,
        answers=((200, "Segments", FlagRecordings),),
    ),
    Operation(
        "GET",
        H + "/evidence/{sha256}.jpg",
        "A flag's evidence snapshot",
        READERS,
        answers=((200, "JPEG", "image/jpeg"),),
    ),
    Operation(
        "GET",
        H + "/recordings/{file}",
        "A recording segment the log vouches for",
        READERS,
        answers=((200, "WebM", "video/webm"),),
    ),
)
