"""Exhibits in the sealed record: each one, its SHA-256, who submitted it, and who presented
it when, rebuilt from the audit log (``exhibits_from_log``) like the rest of the record.

``record.json`` carries ``exhibits`` only when there are any, so a record without exhibits
keeps its bytes and hash. ``courtroom verify`` rebuilds the document from the attached log
(``verification/reconcile.py``), so a listed hash that differs from the one the log recorded
at upload fails verification; the manifest lists the same hashes (``manifest_listing``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol


class _Entry(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def at(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Presentation:
    """One showing of an exhibit: who presented it, from when, and the pages shown in order."""

    presenter: str
    at: str  # ISO 8601 UTC, the log entry's time
    pages: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ExhibitEntry:
    exhibit_id: str
    label: str  # 原告证据1 ...
    side: str
    submitted_by: str
    submitted_at: str
    sha256: str
    media_type: str
    pages: int
    bytes: int
    filename: str
    presentations: tuple[Presentation, ...] = ()


def exhibits_from_log(entries: Iterable[_Entry]) -> tuple[ExhibitEntry, ...]:
    """Every exhibit submitted in ``entries`` (in order) with its presentations."""
    found: dict[str, ExhibitEntry] = {}
    showing: str | None = None
    for entry in entries:
        p = entry.payload
        if entry.type == "exhibit_submitted":
            found[p["exhibit_id"]] = ExhibitEntry(
                p["exhibit_id"], p["label"], p["side"], p["participant"], entry.at,
                p["sha256"], p["media_type"], p["pages"], p["size"], p["filename"],
            )  # fmt: skip
        elif entry.type == "exhibit_numbered" and p["exhibit_id"] in found:
            found[p["exhibit_id"]] = replace(found[p["exhibit_id"]], label=p["label"])
        elif entry.type == "exhibit_presented" and p["exhibit_id"] in found:
            showing = p["exhibit_id"]
            x = found[showing]
            shown = Presentation(p["presenter"], entry.at, (p["page"],))
            found[showing] = replace(x, presentations=(*x.presentations, shown))
        elif (
            entry.type == "exhibit_page_turned"
            and showing in found
            and found[showing].presentations
        ):
            x = found[showing]
            last = x.presentations[-1]
            turned = replace(last, pages=(*last.pages, p["page"]))
            found[showing] = replace(x, presentations=(*x.presentations[:-1], turned))
        elif entry.type == "exhibit_presentation_ended":
            showing = None
    return tuple(found.values())


def to_json(exhibits: Sequence[ExhibitEntry]) -> list[dict[str, Any]]:
    return [
        {
            "exhibit_id": x.exhibit_id,
            "label": x.label,
            "side": x.side,
            "submitted_by": x.submitted_by,
            "submitted_at": x.submitted_at,
            "sha256": x.sha256,
            "media_type": x.media_type,
            "pages": x.pages,
            "bytes": x.bytes,
            "filename": x.filename,
            "presentations": [
                {"presenter": s.presenter, "at": s.at, "pages": list(s.pages)}
                for s in x.presentations
            ],
        }
        for x in exhibits
    ]


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError(f"expected a string, got {type(v).__name__}")
    return v


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected an integer, got {type(v).__name__}")
    return v


def _entry(x: Mapping[str, Any]) -> ExhibitEntry:
    shows = tuple(
        Presentation(_str(s["presenter"]), _str(s["at"]), tuple(_int(n) for n in s["pages"]))
        for s in x["presentations"]
    )
    return ExhibitEntry(
        exhibit_id=_str(x["exhibit_id"]),
        label=_str(x["label"]),
        side=_str(x["side"]),
        submitted_by=_str(x["submitted_by"]),
        submitted_at=_str(x["submitted_at"]),
        sha256=_str(x["sha256"]),
        media_type=_str(x["media_type"]),
        pages=_int(x["pages"]),
        bytes=_int(x["bytes"]),
        filename=_str(x["filename"]),
        presentations=shows,
    )


def from_json(items: Any) -> tuple[ExhibitEntry, ...]:
    if not isinstance(items, list):
        raise TypeError("exhibits must be a list")
    return tuple(_entry(x) for x in items)


def manifest_listing(exhibits: Sequence[ExhibitEntry]) -> list[dict[str, Any]]:
    """What the seal's manifest lists of each exhibit."""
    return [
        {"label": x.label, "exhibit_id": x.exhibit_id, "sha256": x.sha256, "bytes": x.bytes}
        for x in exhibits
    ]


def describe(x: ExhibitEntry, name_of: Mapping[str, str]) -> tuple[str, str]:
    """Two lines a page or a text export shows of an exhibit: what it is, and its history."""
    who = name_of.get(x.submitted_by, x.submitted_by)
    head = f"{x.label} {x.filename} · {x.media_type}, {x.pages} 页 pages, {x.bytes} B · {who}"
    shows = "; ".join(
        f"{name_of.get(s.presenter, s.presenter)} {s.at} 第 {','.join(map(str, s.pages))} 页"
        for s in x.presentations
    )
    return head, f"SHA-256 {x.sha256} · 出示 presented: {shows or '未出示 not presented'}"


def text_lines(exhibits: Sequence[ExhibitEntry], name_of: Mapping[str, str]) -> list[str]:
    if not exhibits:
        return []
    out = ["", "证据 Exhibits:"]
    for x in exhibits:
        head, history = describe(x, name_of)
        out += [f"  {head}", f"    {history}"]
    return out
