"""/openapi.json documents every route, and docs/protocol.md's tables are up to date.

Both are generated from the typed definitions (courtroom/wire.py, domain commands and
events, courtroom/server/rest_spec.py); these tests keep them complete and in sync.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from domain_fixtures import scheduled, with_cast
from starlette.routing import Mount, Route, WebSocketRoute

from courtroom import wire
from courtroom.config import Settings
from courtroom.domain import events as e
from courtroom.domain.codec import to_json
from courtroom.domain.commands import CLIENT_COMMANDS, COMMAND_TYPES
from courtroom.domain.events import EVENT_TYPES
from courtroom.domain.visibility import view_for
from courtroom.protocol import ErrorCode, accepted, error, message
from courtroom.record.document import AuditEntry
from courtroom.record.keys import load_court_keys
from courtroom.record.receipts import make_receipt
from courtroom.record.transparency import record_leaf
from courtroom.server.app import create_app
from courtroom.server.openapi import OPENAPI

REPO = Path(__file__).resolve().parents[2]


def _routes(tmp_path: Path) -> list[Any]:
    return list(create_app(Settings(data_dir=tmp_path)).routes)


def test_every_http_route_is_in_openapi_with_its_methods(tmp_path: Path) -> None:
    documented = {path: set(ops) for path, ops in OPENAPI["paths"].items()}
    seen = set()
    for route in _routes(tmp_path):
        if isinstance(route, Route):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            methods = {m.lower() for m in route.methods or ()} - {"head"}
            assert path in documented, f"{path} is not in /openapi.json"
            assert methods <= documented[path], f"{path}: {methods - documented[path]} undocumented"
            seen.add(path)
        elif isinstance(route, WebSocketRoute):
            assert OPENAPI["x-websocket"]["path"] == route.path
        else:
            assert isinstance(route, Mount) and route.path == "", route  # the static files
    # and nothing is documented that the server does not serve
    assert set(documented) - seen <= {"/join"}, set(documented) - seen


def test_the_fifteen_routes_the_issue_named_are_documented() -> None:
    paths = " ".join(OPENAPI["paths"])
    for word in (
        "record",
        "oath",
        "strokes",
        "seal",
        "verify",
        "vision",
        "id-photo",
        "flags",
        "evidence",
        "recordings",
        "review",
    ):
        assert word in paths, word


def test_every_operation_has_typed_bodies_and_errors() -> None:
    for path, ops in OPENAPI["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and "Credentials" in op["description"], (method, path)
            assert "401" in op["responses"] and "400" in op["responses"], (method, path)
            for status, answer in op["responses"].items():
                assert answer["content"], (method, path, status)


def test_every_command_and_event_has_a_schema() -> None:
    ws = OPENAPI["x-websocket"]
    assert set(ws["commands"]) == set(CLIENT_COMMANDS)
    assert set(ws["events"]) == set(EVENT_TYPES)
    schemas = OPENAPI["components"]["schemas"]
    for name in CLIENT_COMMANDS:
        fields = {f.name for f in dataclasses.fields(COMMAND_TYPES[name])}
        assert set(schemas[f"command_{name}"]["properties"]) == fields


def _validator(name: str) -> Any:
    schema = {"$ref": f"#/components/schemas/{name}", "components": OPENAPI["components"]}
    return jsonschema_rs.validator_for(schema)


def test_what_the_server_sends_fits_the_documented_shapes() -> None:
    state = with_cast(scheduled())
    for viewer in ["judge", "witness", "nobody"]:
        view = view_for(state, viewer)
        _validator("StateView").validate(view)
    _validator("server_result").validate(accepted("c1", [3, 4]))
    _validator("server_error").validate(error(ErrorCode.MALFORMED, "x", "c1"))
    _validator("server_pong").validate(message("pong", id=None))
    _validator("server_state").validate(message("state", state=view_for(state, "judge")))
    event = e.PhaseChanged(phase=state.phase, previous=state.phase)
    _validator(f"event_{event.TYPE}").validate(to_json(event))


def _fits_answer(method: str, path: str, status: int, body: Any) -> None:
    """``body`` fits what /openapi.json documents for ``status`` of that operation."""
    answers = OPENAPI["paths"][path][method]["responses"]
    assert str(status) in answers, f"{method} {path}: {status} is not documented"
    schema = answers[str(status)]["content"]["application/json"]["schema"]
    jsonschema_rs.validator_for({**schema, "components": OPENAPI["components"]}).validate(body)


def _signed(hearing_id: str, seq: int) -> AuditEntry:
    payload = {"participant": "p-plaintiff", "purpose": "record", "signed_hash": "ab" * 32}
    return AuditEntry(hearing_id, seq, "document_signed", "p-plaintiff", "t", payload, "0", "1")


async def _transparency_answers(data_dir: Path) -> list[tuple[str, int, Any]]:
    app = create_app(Settings(data_dir=data_dir))
    async with app.router.lifespan_context(app):
        office = app.state.court.records
        keys = office.keys()
        timestamper, tsa = office.timestamper(keys)
        for hid in ("h-1", "h-2"):
            leaf = record_leaf(hid, "cd" * 32, "ef" * 32, _signed(hid, 9))
            await office.tlog.add(leaf, keys, timestamper, tsa)
        t = "/api/v1/transparency/"
        asked = [
            t + "tree-head",
            t + "tree-head?tree_size=1",
            t + "tree-head?tree_size=3",
            t + "tree-head?tree_size=x",
            t + "inclusion?hearing_id=h-2",
            t + "inclusion?hearing_id=h-2&tree_size=1",
            t + "inclusion?hearing_id=h-1&tree_size=-1",
            t + "consistency?first=1&second=2",
            t + "consistency?first=2&second=3",
            t + "consistency?first=1",
        ]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://court") as client:
            out = []
            for url in asked:
                answer = await client.get(url)
                out.append((url, answer.status_code, answer.json()))
            return out


def test_receipts_and_transparency_answers_fit_the_documented_shapes(tmp_path: Path) -> None:
    """The handlers send make_receipt's and the transparency log's dicts unchanged: a
    receipt, and what the tree head, inclusion and consistency routes of a server with two
    sealed records in its log answer (development keys, the local TSA), errors included."""
    answers = asyncio.run(_transparency_answers(tmp_path))
    statuses = [status for _, status, _ in answers]
    assert statuses == [200, 200, 404, 400, 200, 404, 400, 200, 400, 400], answers
    for url, status, body in answers:
        _fits_answer("get", url.split("?")[0], status, body)
    assert answers[4][2]["leaf_index"] == 1 and answers[4][2]["tree_head"] == answers[0][2]
    keys = load_court_keys(tmp_path / "keys")
    receipt = make_receipt(keys, _signed("h-1", 7), dt.datetime.now(dt.UTC))
    _fits_answer("get", "/api/v1/hearings/{hearing_id}/receipt", 200, receipt)


def test_client_message_schemas_name_every_type() -> None:
    types = {wire.message_type(c) for c in wire.CLIENT_MESSAGES}
    assert types == {"hello", "command", "signal", "ping"}


def test_docs_protocol_md_tables_are_regenerated() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_protocol_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "doc,words",
    [
        ("operations.md", ["--ice-loopback-only", "COURTROOM_SESSION_TTL_S"]),
        ("protocol.md", ["_security", "loopback", "/media", "single-use"]),
    ],
)
def test_operational_facts_are_documented(doc: str, words: list[str]) -> None:
    text = (REPO / "docs" / doc).read_text(encoding="utf-8")
    for word in words:
        assert word in text, f"docs/{doc} does not mention {word}"
