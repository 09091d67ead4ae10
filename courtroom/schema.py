"""JSON Schema (2020-12, as OpenAPI 3.1 uses it) derived from the typed definitions.

Commands, events, websocket messages and REST bodies are each defined once, as frozen
dataclasses; the codec (``domain/codec.py``) validates against those same types. This
module turns a type into a JSON Schema and into the one-line description the
docs/protocol.md tables show, so /openapi.json and the docs cannot drift from what the
server checks.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from functools import cache
from typing import Any, Literal

Schema = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class MaxLength:
    """``Annotated[str, MaxLength(n)]``: a string of at most ``n`` characters."""

    chars: int


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def doc_of(field: dataclasses.Field[Any]) -> str:
    """A field's description: ``field(metadata={"doc": ...})``."""
    return str(field.metadata.get("doc", ""))


def required_fields(cls: type) -> tuple[str, ...]:
    """The fields of dataclass ``cls`` that have no default."""
    return tuple(
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


def object_schema(cls: type, *, ref: typing.Callable[[type], Schema] | None = None) -> Schema:
    """The schema of dataclass ``cls``: every field typed, unknown fields refused."""
    hints = _hints(cls)
    props: dict[str, Schema] = {}
    for f in dataclasses.fields(cls):
        prop = schema_of(hints[f.name], ref=ref)
        if doc := doc_of(f):
            prop = {**prop, "description": doc}
        props[f.name] = prop
    # A class may say it carries more fields than it names (an event's payload).
    extra = bool(getattr(cls, "OPEN_FIELDS", False))
    out: Schema = {"type": "object", "properties": props, "additionalProperties": extra}
    if required := list(required_fields(cls)):
        out["required"] = required
    if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
        out["description"] = " ".join(cls.__doc__.split())
    return out


def schema_of(tp: Any, *, ref: typing.Callable[[type], Schema] | None = None) -> Schema:
    """The JSON Schema of a field type (the types the codec understands)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        base = schema_of(args[0], ref=ref)
        for a in args[1:]:
            if isinstance(a, MaxLength):
                base = {**base, "maxLength": a.chars}
        return base
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        options = [schema_of(a, ref=ref) for a in args]
        return {"anyOf": options}
    if origin in (tuple, list, frozenset):
        items = schema_of(args[0], ref=ref) if args else {}
        out: Schema = {"type": "array", "items": items}
        if origin is frozenset:
            out["uniqueItems"] = True
        return out
    if origin is dict:
        return {"type": "object", "additionalProperties": schema_of(args[1], ref=ref)}
    if tp is dict:
        return {"type": "object"}
    if tp is Any or tp is object:
        return {}
    if tp is type(None):
        return {"type": "null"}
    if isinstance(tp, type) and issubclass(tp, Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return ref(tp) if ref is not None else object_schema(tp)
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if tp in simple:
        return {"type": simple[tp]}
    raise TypeError(f"no JSON Schema for {tp!r}")


def describe(tp: Any) -> str:
    """A short, human description of a field type for the docs' tables."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        limit = next((a.chars for a in args[1:] if isinstance(a, MaxLength)), None)
        return describe(args[0]) + (f" ≤ {limit}" if limit else "")
    if origin is Literal:
        return "/".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        parts = [describe(a) for a in args if a is not type(None)]
        text = " or ".join(parts)
        return f"{text} or null" if type(None) in args else text
    if origin in (tuple, list, frozenset):
        return f"list of {describe(args[0])}" if args else "list"
    if origin is dict:
        return f"object of {describe(args[1])}"
    if tp is dict:
        return "object"
    if tp is Any or tp is object:
        return "any JSON"
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "/".join(f"`{m.value}`" for m in tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return f"`{tp.__name__}`"
    names = {bool: "bool", int: "integer", float: "number", str: "string"}
    return names.get(tp, repr(tp))


def field_list(cls: type, *, skip: frozenset[str] = frozenset()) -> str:
    """``name`` (type), ... for a table cell; optional fields are marked with ``?``."""
    hints = _hints(cls)
    required = set(required_fields(cls))
    parts = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        mark = "" if f.name in required else "?"
        text = f"`{f.name}`{mark} ({describe(hints[f.name])})"
        if doc := doc_of(f):
            text += f": {doc}"
        parts.append(text)
    return ", ".join(parts) if parts else "–"
