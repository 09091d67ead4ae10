"""Commands and events to and from plain JSON objects, with strict type checks.

The same codec parses what clients send (so a wrong type is a clear error, never a
half-built command) and what the log stores (so replay rebuilds exactly the events
that were appended).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


class CodecError(ValueError):
    """The JSON does not fit the dataclass; the message says which field and why."""


def to_json(obj: object) -> dict[str, Any]:
    """A frozen dataclass as a JSON object (enums as values, sets as sorted lists)."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"not a dataclass instance: {obj!r}")
    return {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _encode(value: object) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(_encode(v) for v in value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def from_json(cls: type[T], data: object) -> T:
    """Build ``cls`` from a JSON object, checking every field; unknown fields are errors."""
    if not isinstance(data, dict):
        raise CodecError(f"{_label(cls)} must be a JSON object")
    hints = _hints(cls)  # type: ignore[arg-type]
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise CodecError(f"{_label(cls)}: unknown field(s) {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _decode(hints[name], data[name], name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise CodecError(f"{_label(cls)}: missing field {name!r}")
    return cls(**kwargs)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _label(cls: type) -> str:
    return str(getattr(cls, "NAME", None) or getattr(cls, "TYPE", None) or cls.__name__)


def _decode(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        errors = []
        for a in non_none:
            try:
                return _decode(a, value, where)
            except CodecError as exc:
                errors.append(str(exc))
        raise CodecError(errors[0] if len(errors) == 1 else f"{where}: no matching type")
    if origin in (tuple, frozenset, list):
        if not isinstance(value, list):
            raise CodecError(f"{where} must be a list")
        items = [_decode(args[0], v, f"{where}[]") for v in value]
        return (
            frozenset(items) if origin is frozenset else tuple(items) if origin is tuple else items
        )
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise CodecError(f"{where} must be an object")
        return dict(value)
    if tp is Any:
        return value
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in tp)
            raise CodecError(f"{where} must be one of: {allowed}") from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_json(tp, value)
    if tp is bool:
        if not isinstance(value, bool):
            raise CodecError(f"{where} must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CodecError(f"{where} must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CodecError(f"{where} must be a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise CodecError(f"{where} must be a string")
        return value
    raise CodecError(f"{where}: unsupported field type {tp!r}")
