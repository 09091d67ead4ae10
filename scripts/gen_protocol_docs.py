#!/usr/bin/env python3
"""Regenerate the tables of docs/protocol.md from the typed definitions.

Every table between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->`` is
rebuilt from the code that validates the same thing: websocket messages (courtroom/wire.py),
commands (courtroom/domain/commands.py), events (courtroom/domain/events.py) and REST
operations (courtroom/server/rest_spec.py). Prose outside the markers is left alone.

    python scripts/gen_protocol_docs.py          # rewrite docs/protocol.md
    python scripts/gen_protocol_docs.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from courtroom.domain.commands import CLIENT_COMMANDS, COMMAND_TYPES  # noqa: E402
from courtroom.domain.events import EVENT_TYPES  # noqa: E402
from courtroom.domain.roles import Role, may  # noqa: E402
from courtroom.protocol import ErrorCode  # noqa: E402
from courtroom.schema import describe, field_list  # noqa: E402
from courtroom.server import rest_spec as rs  # noqa: E402
from courtroom.wire import (  # noqa: E402
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    HearingView,
    MediaStat,
    ParticipantView,
    message_type,
)

DOC = REPO / "docs" / "protocol.md"
_ENVELOPE = frozenset({"v", "type"})


def _doc(cls: type) -> str:
    text = cls.__doc__ or ""
    return "" if text.startswith(cls.__name__ + "(") else " ".join(text.split())


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _messages(classes: tuple[type, ...]) -> str:
    rows = [(f"`{message_type(c)}`", field_list(c, skip=_ENVELOPE), _doc(c)) for c in classes]
    return _table(("type", "fields (besides `v`, `type`)", "meaning"), rows)


def _who(cls: type) -> str:
    perm = cls.PERMISSION  # type: ignore[attr-defined]
    roles = [r.value for r in Role if r not in (Role.REGISTRY, Role.INSPECTOR) and may(r, perm)]
    return ", ".join(roles)


def commands() -> str:
    rows = [
        (f"`{n}`", field_list(COMMAND_TYPES[n]), _who(COMMAND_TYPES[n]), _doc(COMMAND_TYPES[n]))
        for n in sorted(CLIENT_COMMANDS)
    ]
    return _table(("name", "args", "who (roles with the permission)", "meaning"), rows)


def events() -> str:
    rows = [
        (f"`{t}`", field_list(EVENT_TYPES[t]), _doc(EVENT_TYPES[t])) for t in sorted(EVENT_TYPES)
    ]
    return _table(("`event.type`", "payload fields", "meaning"), rows)


def state() -> str:
    out = []
    for cls, name in ((HearingView, "state.hearing"), (ParticipantView, "state.participants[]")):
        out.append(f"`{name}`: {field_list(cls)}.")
    return "\n\n".join(out)


def _body(body: rs.Body) -> str:
    if body is None:
        return "–"
    if isinstance(body, str):
        return f"raw `{body}`"
    if dataclasses.is_dataclass(body):
        return f"`{body.__name__}`"
    return describe(body)


def rest() -> str:
    rows = []
    for op in rs.OPERATIONS:
        query = [p for p in rs.parameters(op) if p.where == "query"]
        path = op.path + ("?" + "&".join(p.name for p in query) if query else "")
        answers = "; ".join(f"{s} {_body(b)}" for s, _, b in op.answers)
        rows.append((f"`{op.method} {path}`", op.summary, op.auth, _body(op.body), answers))
    return _table(("route", "what", "credentials (bearer)", "body", "answers"), rows)


def _shapes(classes: list[type]) -> str:
    return "\n".join(f"- `{c.__name__}`: {field_list(c)}" for c in classes)


def rest_shapes() -> str:
    seen: list[type] = []

    def visit(cls: object) -> None:
        if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls not in seen:
            seen.append(cls)
            home = sys.modules[cls.__module__]  # where the field annotations' names live
            for f in dataclasses.fields(cls):
                for inner in re.findall(r"[A-Z][A-Za-z]+", str(f.type)):
                    visit(getattr(home, inner, None))

    for op in rs.OPERATIONS:
        visit(op.body)
        for _, _, body in op.answers:
            visit(body)
    visit(rs.Error)
    return _shapes(seen)


def media_counters() -> str:
    return _shapes([rs.MediaCounters, rs.RouteCount, MediaStat])


def error_codes() -> str:
    return ", ".join(f"`{c.value}`" for c in ErrorCode)


def tokens() -> str:
    return rs.TOKENS_ON_REST


SECTIONS: dict[str, Callable[[], str]] = {
    "client-messages": lambda: _messages(CLIENT_MESSAGES),
    "server-messages": lambda: _messages(SERVER_MESSAGES),
    "commands": commands,
    "state": state,
    "events": events,
    "error-codes": error_codes,
    "rest": rest,
    "rest-shapes": rest_shapes,
    "media-counters": media_counters,
    "tokens": tokens,
}


def render(text: str) -> str:
    for name, make in SECTIONS.items():
        pattern = re.compile(
            rf"(<!-- generated:{name} -->\n)(?:.*?\n)?(<!-- /generated:{name} -->)", re.DOTALL
        )
        if not pattern.search(text):
            raise SystemExit(f"docs/protocol.md has no generated:{name} section")
        body = make()
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the doc is out of date")
    args = parser.parse_args()
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if args.check:
        if wanted != current:
            print("docs/protocol.md is out of date: run scripts/gen_protocol_docs.py")
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
