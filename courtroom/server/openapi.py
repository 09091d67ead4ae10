"""The OpenAPI 3.1 description of the REST API (served at /openapi.json)."""

from __future__ import annotations

from typing import Any


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


_S = {"type": "string"}
_ERROR = {"$ref": "#/components/schemas/Error"}


def _resp(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    content = {"application/json": {"schema": schema or _ERROR}}
    return {"description": description, "content": content}


_ERRORS = {
    "400": _resp("Malformed request"),
    "401": _resp("No or bad credentials"),
    "403": _resp("The caller's role may not do this"),
    "404": _resp("No such hearing or participant"),
    "409": _resp("The court refused the command in the hearing's current state"),
}

INVITATION = _obj(
    ["hearing_id", "participant_id", "role", "join_url", "code", "code_expires_at"],
    hearing_id=_S,
    participant_id=_S,
    role=_S,
    join_url=_S,
    code={"type": "string", "description": "one-time 8-digit join code; shown once, never logged"},
    code_expires_at={"type": "string", "format": "date-time"},
)

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "courtroom",
        "version": "1",
        "description": "Online courtroom server REST API.",
    },
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "The court registry key, or a judge's/clerk's session token.",
            }
        },
        "schemas": {
            "Error": _obj(["error", "message"], error=_S, message=_S),
            "Invitation": INVITATION,
        },
    },
    "paths": {
        "/api/v1/hearings": {
            "post": {
                "summary": "Schedule a hearing (court registry)",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _obj(
                                ["case_number", "court", "language", "scheduled_for"],
                                case_number=_S,
                                title=_S,
                                court=_S,
                                language={"type": "string", "examples": ["zh", "en"]},
                                scheduled_for={"type": "string", "format": "date-time"},
                            )
                        }
                    },
                },
                "responses": {
                    "201": _resp("Scheduled", _obj(["hearing_id"], hearing_id=_S)),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/hearings/{hearing_id}": {
            "get": {
                "summary": "The hearing's current state",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "hearing_id", "in": "path", "required": True, "schema": _S}
                ],
                "responses": {"200": _resp("State", {"type": "object"}), **_ERRORS},
            }
        },
        "/api/v1/hearings/{hearing_id}/participants": {
            "post": {
                "summary": "Invite a participant; returns the join link and one-time code",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "hearing_id", "in": "path", "required": True, "schema": _S}
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _obj(
                                ["role", "display_name"],
                                role={
                                    "type": "string",
                                    "enum": [
                                        "judge",
                                        "clerk",
                                        "plaintiff",
                                        "defendant",
                                        "lawyer",
                                        "witness",
                                        "interpreter",
                                        "kiosk_supervisor",
                                        "observer",
                                    ],
                                },
                                display_name=_S,
                            )
                        }
                    },
                },
                "responses": {
                    "201": _resp("Invited", {"$ref": "#/components/schemas/Invitation"}),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/hearings/{hearing_id}/participants/{participant_id}/join-code": {
            "post": {
                "summary": "Issue a new one-time join code (e.g. after a recall)",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "hearing_id", "in": "path", "required": True, "schema": _S},
                    {"name": "participant_id", "in": "path", "required": True, "schema": _S},
                ],
                "responses": {
                    "201": _resp("Issued", {"$ref": "#/components/schemas/Invitation"}),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/sessions": {
            "post": {
                "summary": "Exchange a join code for a short-lived session token",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _obj(
                                ["hearing_id", "participant_id", "code"],
                                hearing_id=_S,
                                participant_id=_S,
                                code=_S,
                            )
                        }
                    },
                },
                "responses": {
                    "201": _resp(
                        "Session",
                        _obj(
                            [
                                "token",
                                "expires_at",
                                "hearing_id",
                                "participant_id",
                                "role",
                                "websocket",
                            ],
                            token=_S,
                            expires_at=_S,
                            hearing_id=_S,
                            participant_id=_S,
                            role=_S,
                            websocket=_S,
                        ),
                    ),
                    "401": _resp("Wrong, used or expired code (logged)"),
                    "429": _resp("Too many wrong codes; a new code is needed"),
                },
            }
        },
        "/api/v1/hearings/{hearing_id}/log": {
            "get": {
                "summary": "The hearing's audit log (hash-chained events)",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "hearing_id", "in": "path", "required": True, "schema": _S},
                    {
                        "name": "after",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer"},
                    },
                ],
                "responses": {"200": _resp("Entries", {"type": "object"}), **_ERRORS},
            }
        },
        "/api/v1/hearings/{hearing_id}/log/verify": {
            "get": {
                "summary": "Verify the hearing's hash chain",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "hearing_id", "in": "path", "required": True, "schema": _S}
                ],
                "responses": {
                    "200": _resp("Chain intact", {"type": "object"}),
                    "409": _resp("Chain broken", {"type": "object"}),
                },
            }
        },
        "/api/v1/hearings/{hearing_id}/media": {
            "get": {
                "summary": "Packets forwarded per route and per-participant connection stats",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "hearing_id", "in": "path", "required": True, "schema": _S}
                ],
                "responses": {"200": _resp("Counters", {"type": "object"}), **_ERRORS},
            }
        },
        "/api/v1/hearings/{hearing_id}/transcript.{fmt}": {
            "get": {
                "summary": "The transcript, corrections applied: fmt vtt (WebVTT), srt, or txt",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "hearing_id", "in": "path", "required": True, "schema": _S},
                    {
                        "name": "fmt",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": ["vtt", "srt", "txt"]},
                    },
                ],
                "responses": {"200": {"description": "The transcript text"}, **_ERRORS},
            }
        },
        "/api/v1/status": {
            "get": {
                "summary": "Server status: live transcription per language, bus, database kind",
                "responses": {"200": _resp("Status", {"type": "object"})},
            }
        },
    },
}
