"""The OpenAPI 3.1 description served at /openapi.json, generated from the typed definitions.

REST routes come from ``rest_spec.OPERATIONS``; the websocket protocol's messages, command
arguments and event payloads are in ``components.schemas`` too (``x-websocket`` says which
is which), so a client can be written from this document and docs/protocol.md alone.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..domain.commands import CLIENT_COMMANDS, COMMAND_TYPES
from ..domain.events import EVENT_TYPES
from ..schema import Schema, object_schema, schema_of
from ..wire import CLIENT_MESSAGES, SERVER_MESSAGES, message_type
from .rest_spec import ANYONE, OPERATIONS, TOKENS_ON_REST, Body, Error, Operation, parameters

_STANDARD_ERRORS = {
    400: "Malformed request",
    401: "No or bad credentials",
    403: "The caller's role may not do this",
    404: "No such hearing, participant or file",
    409: "The court refused it in the hearing's current state",
}


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {}

    def ref(self, cls: type) -> Schema:
        name = cls.__name__
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder: recursion stops here
            self.schemas[name] = object_schema(cls, ref=self.ref)
        return {"$ref": f"#/components/schemas/{name}"}

    def named(self, name: str, cls: type, **extra: Any) -> Schema:
        self.schemas[name] = {**object_schema(cls, ref=self.ref), **extra}
        return {"$ref": f"#/components/schemas/{name}"}

    def content(self, body: Body) -> dict[str, Any]:
        if isinstance(body, str):
            return {body: {"schema": {"type": "string", "format": "binary"}}}
        if body is None:
            return {"application/json": {"schema": {}}}
        if dataclasses.is_dataclass(body):
            return {"application/json": {"schema": self.ref(body)}}
        return {"application/json": {"schema": schema_of(body, ref=self.ref)}}


def _operation(op: Operation, comp: _Components) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary, "description": f"Credentials: {op.auth}."}
    if op.auth != ANYONE:
        out["security"] = [{"bearer": []}]
    params = [
        {
            "name": p.name,
            "in": p.where,
            "required": p.where == "path",
            "schema": schema_of(p.type),
            **({"description": p.description} if p.description else {}),
        }
        for p in parameters(op)
    ]
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": comp.content(op.body)}
    responses: dict[str, Any] = {}
    for status, description, body in op.answers:
        responses[str(status)] = {"description": description, "content": comp.content(body)}
    error = {"application/json": {"schema": comp.ref(Error)}}
    for status, description in _STANDARD_ERRORS.items():
        responses.setdefault(str(status), {"description": description, "content": error})
    out["responses"] = responses
    return out


def _websocket(comp: _Components) -> dict[str, Any]:
    client = [comp.named(message_type(c), c) for c in CLIENT_MESSAGES]
    server = [comp.named("server_" + message_type(c), c) for c in SERVER_MESSAGES]
    commands = {
        name: comp.named("command_" + name, COMMAND_TYPES[name], **{"x-permission": p.value})
        for name in sorted(CLIENT_COMMANDS)
        for p in (COMMAND_TYPES[name].PERMISSION,)
    }
    events = {t: comp.named("event_" + t, EVENT_TYPES[t]) for t in sorted(EVENT_TYPES)}
    return {
        "path": "/ws",
        "description": "Protocol version 1; see docs/protocol.md. Command `args` are the "
        "`command_<name>` schemas, event payloads (besides `type`) the `event_<type>` ones.",
        "client_messages": {"oneOf": client},
        "server_messages": {"oneOf": server},
        "commands": commands,
        "events": events,
    }


def build_openapi() -> dict[str, Any]:
    comp = _Components()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, comp)
    websocket = _websocket(comp)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "courtroom",
            "version": "1",
            "description": "Online courtroom server: the REST API, and in `x-websocket` the "
            "websocket protocol's messages. " + TOKENS_ON_REST,
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The court registry key, the inspector key, or a "
                    "participant's session token (which one: each operation's description).",
                }
            },
            "schemas": dict(sorted(comp.schemas.items())),
        },
        "paths": paths,
        "x-websocket": websocket,
    }


OPENAPI: dict[str, Any] = build_openapi()
