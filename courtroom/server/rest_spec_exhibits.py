"""The REST operations of exhibits (``api_exhibits.py``): upload, list, the file, its pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..wire import ExhibitView, PresentingView
from .rest_spec_base import PARTICIPANT, Error, H, Operation, Param

# --- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExhibitSubmittedOut(ExhibitView):
    seq: int = field(default=0, metadata={"doc": "the `exhibit_submitted` event's seq"})


_READ = (
    "registry key, or a session token of this hearing's participant who may see the exhibit "
    "now (the bench and those in the hearing; a witness only the exhibit on screen while "
    "called in; anyone their own)"
)

EXHIBIT_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        H + "/exhibits",
        "Submit an exhibit: a PDF, PNG or JPEG body (type found by content, at most 20 MiB); "
        "the court numbers it (原告证据1, 被告证据1, ...)",
        "a plaintiff's, defendant's or lawyer's session token",
        "application/pdf",
        (
            (201, "Submitted and numbered", ExhibitSubmittedOut),
            (409, "Refused by the court (e.g. already submitted, wrong phase)", Error),
            (413, "Too large", Error),
            (415, "Not a PDF, PNG or JPEG by content", Error),
            (422, "Unreadable, encrypted, active content (JavaScript...) or over limits", Error),
        ),
        query=(
            Param("name", "query", str, "the file name shown beside the label (1-200 characters)"),
            Param(
                "side",
                "query",
                Literal["plaintiff", "defendant"],
                "whose evidence: required for a lawyer; a party's own side otherwise",
            ),
        ),
    ),
    Operation(
        "GET",
        H + "/exhibits",
        "The exhibits the caller may know of, what is on screen, who may present",
        PARTICIPANT,
        answers=((200, "Exhibits", PresentingView),),
    ),
    Operation(
        "GET",
        H + "/exhibits/{exhibit_id}",
        "The exhibit's file as submitted (an attachment)",
        _READ,
        answers=((200, "The file", "application/octet-stream"), (403, "Not now", Error)),
    ),
    Operation(
        "GET",
        H + "/exhibits/{exhibit_id}/pages/{page}",
        "One page, rendered by the server as a PNG (the same pixels for everyone)",
        _READ,
        answers=((200, "The page", "image/png"), (403, "Not now", Error)),
        query=(Param("page", "path", int, "1-based"),),
    ),
)
