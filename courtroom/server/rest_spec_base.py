"""What every part of the REST definition shares: who may call, the error answer, and the
``Operation`` record itself.

``rest_spec.py`` assembles ``OPERATIONS`` from its own operations and those of
``rest_spec_record.py`` (the sealed record, receipts, the transparency log) and
``rest_spec_vision.py`` (identity photos and the discipline watch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# --- who may call (the bearer credential) -------------------------------------------------

REGISTRY = "registry key"
BENCH = "registry key, or the judge's or clerk's session token"
READERS = "inspector key, registry key, or the judge's or clerk's session token"
INSPECTOR = "inspector key"
PARTICIPANT = "registry key, or a session token of this hearing's participant"
ANYONE = "none"


# --- the one error answer -----------------------------------------------------------------


@dataclass(frozen=True)
class Error:
    error: str = field(
        metadata={"doc": "a stable code: `malformed`, `unauthenticated`, `forbidden`, ..."}
    )
    message: str


# --- operations -----------------------------------------------------------------------------

Body = type | str | None  # a dataclass (JSON), a media type (raw bytes), or nothing


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["path", "query"]
    type: Any = str
    description: str = ""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    auth: str
    body: Body = None
    answers: tuple[tuple[int, str, Body], ...] = ()
    query: tuple[Param, ...] = ()


def _path_params(path: str) -> tuple[Param, ...]:
    names = [part.split("}")[0] for part in path.split("{")[1:]]
    return tuple(Param(n, "path") for n in names)


def parameters(op: Operation) -> tuple[Param, ...]:
    """Path parameters (as typed in ``query`` when listed there, else strings), then query."""
    given = {p.name: p for p in op.query if p.where == "path"}
    path = tuple(given.get(p.name, p) for p in _path_params(op.path))
    return path + tuple(p for p in op.query if p.where == "query")


H = "/api/v1/hearings/{hearing_id}"
JSON_ANY = dict[str, Any]
