"""The one decoding boundary for everything a client sends: websocket frames and REST bodies.

``decode_json`` turns raw bytes or text into plain JSON values, or raises ``InputError``
with a stable code and a message a developer can act on. What passes it is safe to
decide on, log, hash (RFC 8785) and send back:

- strict UTF-8: bytes must decode, and no string (key or value) may hold a lone
  surrogate, which ``json.loads`` accepts as an escape (``"\\ud800"``) but no UTF-8
  encoder, canonicaliser or socket can write back;
- a size limit (checked before parsing) and a nesting limit (checked without recursion,
  so a frame of 100,000 ``[`` is an error, not a ``RecursionError``);
- numbers are finite (no ``NaN``/``Infinity``/``1e999``) and integers fit in 64 bits;
- at most ``MAX_NODES`` values in one document.

Per-message schemas (which fields, of which type) are checked after this, by
``courtroom.protocol`` (websocket) and the REST handlers; both answer with an error,
never a bare close or a 500.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
MAX_NODES = 10_000
_INT_LIMIT = 2**63
_SURROGATE = re.compile("[\ud800-\udfff]")


class InputError(ValueError):
    """Input refused at the boundary. ``code``: ``malformed`` or ``too_large``."""

    def __init__(self, code: str, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.value = value  # the parsed value, when only a check after parsing failed


def _no_constant(name: str) -> Any:
    raise InputError("malformed", f"{name} is not a JSON number")


def decode_json(raw: str | bytes, *, max_bytes: int, what: str = "message") -> Any:
    """The JSON value in ``raw``, checked as described in the module docstring."""
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise InputError("too_large", f"{what} is {size} bytes; the limit is {max_bytes}")
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("malformed", f"{what} is not valid UTF-8") from None
    else:
        text = raw
    if _SURROGATE.search(text):
        raise InputError("malformed", f"{what} is not valid UTF-8 (a lone surrogate)")
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise InputError("malformed", f"{what} is nested too deep (limit {MAX_DEPTH})") from None
    except InputError:
        raise
    except ValueError:  # JSONDecodeError, and integers past Python's digit limit
        raise InputError("malformed", f"{what} is not valid JSON") from None
    try:
        check_value(value, what)
    except InputError as exc:
        exc.value = value
        raise
    return value


def check_value(value: Any, what: str = "message") -> None:
    """Walk ``value`` without recursion: depth, count, strings, numbers."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise InputError("malformed", f"{what} holds more than {MAX_NODES} values")
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InputError("malformed", f"{what} is not valid UTF-8 (a lone surrogate)")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -_INT_LIMIT <= item < _INT_LIMIT:
                raise InputError("malformed", f"{what} holds an integer outside 64 bits")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InputError("malformed", f"{what} holds a number that is not finite")
        elif isinstance(item, list | dict):
            if depth >= MAX_DEPTH:
                raise InputError("malformed", f"{what} is nested too deep (limit {MAX_DEPTH})")
            if isinstance(item, dict):
                for key, v in item.items():
                    if _SURROGATE.search(key):
                        raise InputError(
                            "malformed", f"{what} is not valid UTF-8 (a lone surrogate)"
                        )
                    stack.append((v, depth + 1))
            else:
                stack.extend((v, depth + 1) for v in item)
        else:  # pragma: no cover - json.loads makes nothing else
            raise InputError("malformed", f"{what} holds an unsupported value")


def clean_text(value: str, what: str) -> str:
    """A string from outside JSON (a query or path parameter, a header) checked the same way."""
    if _SURROGATE.search(value):
        raise InputError("malformed", f"{what} is not valid UTF-8 (a lone surrogate)")
    return value
