"""The public REST operations (``api_public.py``): no credentials, no case parties.

A public hearing shows what the outsider view shows (``domain/visibility.view_for`` for
someone outside the hearing): the court, the language, the time and the phase; never the
case number, the title or anyone's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .rest_spec_base import ANYONE, Error, Operation, Param

P = "/api/v1/public/hearings"


@dataclass(frozen=True)
class PublicHearing:
    hearing_id: str
    court: str
    language: str
    scheduled_for: str
    phase: str
    status: Literal["announced", "live", "paused", "ended"] = field(
        metadata={"doc": "`announced` (listed, not yet on air), `live`, `paused` or `ended`"}
    )
    delay_s: float = field(metadata={"doc": "how far the broadcast runs behind the hearing"})
    playlist: str | None = field(metadata={"doc": "the HLS playlist's URL while on air"})
    captions: bool = field(metadata={"doc": "whether the court publishes transcript captions"})
    page: str = field(metadata={"doc": "the public page playing it"})


@dataclass(frozen=True)
class PublicListing:
    on_air: tuple[PublicHearing, ...] = field(metadata={"doc": "live or paused now"})
    upcoming: tuple[PublicHearing, ...] = field(
        metadata={"doc": "announced by the judge, not on air yet"}
    )


@dataclass(frozen=True)
class Caption:
    speaker: str = field(metadata={"doc": "the speaker's role (never a name)"})
    text: str
    t0: float = field(metadata={"doc": "seconds into the broadcast's picture"})
    t1: float


@dataclass(frozen=True)
class PublicCaptions:
    captions: tuple[Caption, ...]


PUBLIC_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/public",
        "The public page: hearings on air now and announced",
        ANYONE,
        answers=((200, "HTML page", "text/html"),),
    ),
    Operation(
        "GET",
        "/public/{hearing_id}",
        "The public page of one hearing, playing its broadcast (hls.js)",
        ANYONE,
        answers=((200, "HTML page", "text/html"),),
    ),
    Operation(
        "GET",
        "/public/{hearing_id}/hls/{number}/{file}",
        "The broadcast's HLS playlist (`index.m3u8`) and segments (`seg-NNNNN.ts`), while on air",
        ANYONE,
        answers=(
            (200, "Playlist or MPEG-TS segment", "application/vnd.apple.mpegurl"),
            (404, "Not on air", Error),
        ),
        query=(Param("number", "path", int, "the broadcast's number (from `playlist`)"),),
    ),
    Operation(
        "GET",
        P,
        "Public hearings: on air now, and announced",
        ANYONE,
        answers=((200, "Listing", PublicListing),),
    ),
    Operation(
        "GET",
        P + "/{hearing_id}",
        "One public hearing (404 unless announced or broadcast)",
        ANYONE,
        answers=((200, "Hearing", PublicHearing), (404, "Not public", Error)),
    ),
    Operation(
        "GET",
        P + "/{hearing_id}/captions",
        "Captions already published (the delay passed), where the court enables them",
        ANYONE,
        answers=((200, "Captions", PublicCaptions), (404, "Not public, or captions off", Error)),
    ),
)
