"""Hypothesis strategies for scripts/fuzz.py: websocket frames a hostile client sends.

Valid message shapes with hostile values (lone surrogates, huge and empty strings, wrong
types, unknown fields), and invalid shapes (deep nesting, not JSON, binary, bad UTF-8,
oversized, NaN, duplicate keys). Command arguments follow the ``command_<name>`` schemas
of /openapi.json, so every command the protocol has is covered.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# --- websocket frames -------------------------------------------------------------------------

HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        [
            "\ud800",
            "a\udfffb",
            "\udbff\udc00\ud800",
            "",
            " ",
            "\x00",
            "\u202e",
            "💥" * 40,
            "../../etc/passwd",
            "<script>",
            "' OR 1=1 --",
            "x" * 65,
            "null",
            "%s%n",
            "\\",
            "\r\n",
            "\ufeff",
        ]
    ),
    st.text(max_size=40),
    st.builds(lambda n: "长" * n, st.integers(1000, 40000)),
)
HOSTILE_ANY = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False),
        HOSTILE_TEXT,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(HOSTILE_TEXT, inner, max_size=4)
    ),
    max_leaves=12,
)


def _deep(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


@st.composite
def command_args(draw: st.DrawFn, name: str, spec: dict[str, Any], ids: list[str]) -> Any:
    schema = spec["components"]["schemas"][f"command_{name}"]
    if draw(st.integers(0, 9)) == 0:
        return draw(HOSTILE_ANY)  # not an object, or anything at all
    args: dict[str, Any] = {}
    for prop, sub in schema.get("properties", {}).items():
        if draw(st.integers(0, 9)) == 0:
            continue  # a missing field
        if draw(st.integers(0, 5)) == 0:
            args[prop] = draw(HOSTILE_ANY)  # a wrong type
        elif "enum" in sub:
            args[prop] = draw(st.one_of(st.sampled_from(sub["enum"]), HOSTILE_TEXT))
        elif sub.get("type") == "boolean":
            args[prop] = draw(st.booleans())
        elif prop == "participant":
            args[prop] = draw(st.one_of(st.sampled_from(ids), HOSTILE_TEXT))
        else:
            args[prop] = draw(HOSTILE_TEXT)
    if draw(st.integers(0, 9)) == 0:
        args[draw(HOSTILE_TEXT)] = draw(HOSTILE_ANY)  # an unknown field
    return args


def frames(spec: dict[str, Any], ids: list[str]) -> st.SearchStrategy[tuple[str, str | bytes]]:
    commands = sorted(spec["x-websocket"]["commands"])
    ascii_json = st.booleans()

    def enc(label: str, obj: Any, ensure_ascii: bool = True) -> tuple[str, str]:
        text = json.dumps(obj, ensure_ascii=ensure_ascii)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates travel as JSON escapes, as in the issue
            text = json.dumps(obj, ensure_ascii=True)
        return label, text

    @st.composite
    def command(draw: st.DrawFn) -> tuple[str, str]:
        name = draw(st.sampled_from(commands))
        mid = draw(st.one_of(st.sampled_from(["c1", "c1", "dup"]), HOSTILE_TEXT))
        msg = {"v": 1, "type": "command", "id": mid, "name": name,
               "args": draw(command_args(name, spec, ids))}  # fmt: skip
        return enc(f"command {name}", msg, draw(ascii_json))

    @st.composite
    def signal(draw: st.DrawFn) -> tuple[str, str]:
        kind = draw(st.sampled_from(["hello", "answer", "renegotiate", "bye", "offer", "x"]))
        data: dict[str, Any] = {"type": kind}
        if kind == "answer":
            data["sdp"] = draw(st.one_of(st.just("v=0\r\ngarbage"), HOSTILE_TEXT, HOSTILE_ANY))
            data["seq"] = draw(st.one_of(st.integers(-5, 50), HOSTILE_ANY))
        if draw(st.booleans()):
            data[draw(HOSTILE_TEXT)] = draw(HOSTILE_ANY)
        return enc(f"signal {kind}", {"v": 1, "type": "signal", "data": data})

    @st.composite
    def valid_shape_hostile(draw: st.DrawFn) -> tuple[str, str]:
        which = draw(st.sampled_from(["ping", "hello", "command", "signal"]))
        if which == "ping":
            return enc("ping id", {"v": 1, "type": "ping", "id": draw(HOSTILE_TEXT)})
        if which == "hello":  # a second hello on an open connection
            return enc("hello again", {"v": 1, "type": "hello", "token": draw(HOSTILE_TEXT)})
        return draw(command()) if which == "command" else draw(signal())

    @st.composite
    def invalid_shape(draw: st.DrawFn) -> tuple[str, str | bytes]:
        which = draw(st.integers(0, 11))
        depth = draw(st.sampled_from([100, 999, 2000, 5000]))
        if which == 0:
            return "deep ping", '{"v":1,"type":"ping","id":"d","x":' + _deep(depth) + "}"
        if which == 1:
            return "deep args", ('{"v":1,"type":"command","id":"d","name":"leave","args":'
                                 + _deep(depth, '{"a":', "}").replace("}", "1}", 1) + "}")  # fmt: skip
        if which == 2:
            return "not json", draw(st.sampled_from(["{", "", "nul", "[1,", '{"v":1,,}', "NaN"]))
        if which == 3:
            return "non-object", json.dumps(draw(st.one_of(st.lists(HOSTILE_ANY), st.integers())))
        if which == 4:
            return "binary", draw(st.sampled_from([b"\xff\xfe", b"\x80", b'{"v":1}', b"\xc3\x28"]))
        if which == 5:
            return "wrong types", json.dumps({"v": draw(HOSTILE_ANY), "type": draw(HOSTILE_ANY),
                                              "id": draw(HOSTILE_ANY)})  # fmt: skip
        if which == 6:
            return "unknown type", json.dumps({"v": 1, "type": draw(HOSTILE_TEXT), "id": "u"})
        if which == 7:
            return "too large", json.dumps({"v": 1, "type": "ping", "id": "big",
                                            "pad": "x" * draw(st.integers(65_000, 900_000))})  # fmt: skip
        if which == 8:
            return "NaN", '{"v":1,"type":"ping","id":"n","x":NaN,"y":-Infinity}'
        if which == 9:
            return "dup keys", '{"v":1,"type":"ping","type":"command","id":"k"}'
        if which == 10:
            return "huge number", '{"v":1,"type":"ping","id":"h","x":1' + "0" * 5000 + "}"
        return "signal not object", json.dumps(
            {"v": 1, "type": "signal", "data": draw(HOSTILE_ANY)}
        )

    return st.one_of(valid_shape_hostile(), invalid_shape())
