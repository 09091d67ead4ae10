"""REST routes for the sealed record: review, signing, sealing, verification.

Signing keys and signatures travel over the websocket (``register_signing_key``,
``sign_document``, ``refuse_to_sign``); these routes give the signer what to review and
sign, take the handwritten stroke image, seal, hand out the sealed PDF and verify one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..domain.hearing import Actor
from ..domain.presence import Presence
from ..domain.roles import STAFF, Permission, Role, may
from ..record.document import oath_hash, to_json
from ..record.hearing_log import OATHS, render_text
from ..record.signatures import signing_message
from .api import _court, _errors
from .gate import ApiError, caller
from .runtime import HearingRuntime
from .sealing import DEV_KEYS_WARNING, MAX_STROKE_BYTES, OATH_ROLES, RecordOffice, SealError

MAX_PDF_BYTES = 64 * 1024 * 1024


def _office(request: Request) -> RecordOffice:
    office: RecordOffice = _court(request).records
    return office


async def _caller(request: Request, hearing_id: str) -> tuple[Actor, HearingRuntime]:
    """The registry (by its key) or a participant of this hearing (by session token)."""
    actor = await caller(request, hearing_id)
    return actor, await _court(request).runtime(hearing_id)


def _signer(actor: Actor, runtime: HearingRuntime) -> None:
    if actor.role is Role.REGISTRY or not may(actor.role, Permission.SIGN):
        raise ApiError(403, "forbidden", f"a {actor.role.value} does not sign hearing records")


async def get_record(request: Request) -> JSONResponse:
    """The frozen document to review and sign: JSON, hash, the message, a text rendering."""
    hid = request.path_params["hearing_id"]
    actor, runtime = await _caller(request, hid)
    _signer(actor, runtime)
    me = runtime.state.participants[actor.id]
    if me.role is Role.WITNESS and me.presence is not Presence.IN_HEARING:
        raise ApiError(403, "forbidden", "a witness outside the hearing may not read its record")
    frozen, _ = await _office(request).frozen(hid)
    if frozen is None or runtime.state.phase.value not in ("closed", "sealed"):
        raise ApiError(
            409, "wrong_phase", "the record can be reviewed once the judge has closed the hearing"
        )
    doc = frozen.document
    return JSONResponse(
        {
            "hearing_id": hid,
            "phase": runtime.state.phase.value,
            "document": to_json(doc),
            "document_hash": frozen.hash,
            "message": signing_message("record", frozen.hash).decode("ascii"),
            "text": render_text(doc, frozen.hash),
            "audit_head": {"seq": doc.audit_head.seq, "hash": doc.audit_head.hash},
        }
    )


async def get_oath(request: Request) -> JSONResponse:
    """The oath a witness or interpreter signs before testifying."""
    hid = request.path_params["hearing_id"]
    actor, _ = await _caller(request, hid)
    if actor.role not in OATH_ROLES:
        raise ApiError(403, "forbidden", f"no oath is administered to a {actor.role.value}")
    oath = await _office(request).oath(hid, actor.id)
    if oath is None:  # pragma: no cover - every witness/interpreter was invited
        raise ApiError(404, "not_found", "no oath for this participant")
    zh, en = OATHS[actor.role]
    digest = oath_hash(hid, oath)
    return JSONResponse(
        {
            "hearing_id": hid,
            "participant_id": actor.id,
            "statement": {
                "participant_id": oath.participant_id,
                "text": oath.text,
                "presented_at": oath.presented_at,
            },
            "text_zh": zh,
            "text_en": en,
            "oath_hash": digest,
            "message": signing_message("oath", digest).decode("ascii"),
        }
    )


async def post_stroke(request: Request) -> JSONResponse:
    """The handwritten signature image (PNG, at most 256 KiB), kept by its SHA-256."""
    hid = request.path_params["hearing_id"]
    actor, runtime = await _caller(request, hid)
    _signer(actor, runtime)
    length = int(request.headers.get("content-length") or 0)
    if length > MAX_STROKE_BYTES:
        raise ApiError(413, "too_large", f"a stroke image is at most {MAX_STROKE_BYTES} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_STROKE_BYTES:
            raise ApiError(413, "too_large", f"a stroke image is at most {MAX_STROKE_BYTES} bytes")
    try:
        sha = await _office(request).store_stroke(hid, actor.id, bytes(data))
    except ValueError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    return JSONResponse({"stroke_sha256": sha, "bytes": len(data)}, status_code=201)


async def post_seal(request: Request) -> JSONResponse:
    """The judge seals the closed hearing's record (PAdES B-LTA)."""
    hid = request.path_params["hearing_id"]
    actor, runtime = await _caller(request, hid)
    if not may(actor.role, Permission.SEAL):
        raise ApiError(403, "forbidden", "only the presiding judge seals the record")
    try:
        result = await _office(request).seal(runtime, actor)
    except SealError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    body: dict[str, Any] = {
        "hearing_id": hid,
        "document_hash": result.document_hash,
        "sealed_sha256": result.sealed_sha256,
        "bytes": result.size,
        "download": f"/api/v1/hearings/{hid}/record.pdf",
        "signatures": result.signatures,
        "refusals": result.refusals,
        "superseded": result.superseded,
        "development_keys": result.development_keys,
        "timestamp_authority": result.timestamp_authority,
    }
    if result.development_keys:
        body["warning"] = DEV_KEYS_WARNING
    return JSONResponse(body, status_code=201)


async def get_record_pdf(request: Request) -> Response:
    hid = request.path_params["hearing_id"]
    actor, runtime = await _caller(request, hid)
    if actor.role not in STAFF and actor.role is not Role.REGISTRY:
        _signer(actor, runtime)
    if runtime.state.sealed_sha256 is None:
        raise ApiError(409, "wrong_phase", "the record has not been sealed")
    path = _office(request).record_path(hid)
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise ApiError(404, "not_found", "the sealed file is missing on this server") from None
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="{hid}.pdf"',
            "x-sealed-sha256": runtime.state.sealed_sha256,
        },
    )


async def post_verify(request: Request) -> JSONResponse:
    """Verify a sealed PDF (anyone holding one may); ``?hearing_id=`` also compares the
    record's audit log with this server's database."""
    hid = request.query_params.get("hearing_id") or None
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_PDF_BYTES:
            raise ApiError(413, "too_large", f"at most {MAX_PDF_BYTES} bytes")
    if not data:
        raise ApiError(400, "malformed", "send the sealed PDF as the request body")
    if hid is not None:
        await _court(request).runtime(hid)  # 404 for an unknown hearing
    try:
        report, compared = await _office(request).verify(bytes(data), hid)
    except SealError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    checks = [{"name": c.name, "status": c.status, "message": c.message} for c in report.checks]
    checks += [
        {"name": c.name, "status": "ok" if c.ok else "failed", "message": c.message}
        for c in compared
    ]
    ok = report.ok and all(c.ok for c in compared)
    signers = [
        c.name.split(".")[1:]
        for c in report.checks
        if c.name.startswith("signature.") and c.name != "signatures.summary"
    ]
    return JSONResponse(
        {
            "ok": ok,
            "checks": checks,
            "signers": [{"participant_id": s[0], "purpose": s[1]} for s in signers if len(s) == 2],
        }
    )


async def get_receipt(request: Request) -> JSONResponse:
    """The court's receipt for the caller's own signature; the device keeps it."""
    hid = request.path_params["hearing_id"]
    actor, runtime = await _caller(request, hid)
    _signer(actor, runtime)
    purpose = request.query_params.get("purpose", "record")
    if purpose not in ("record", "oath"):
        raise ApiError(400, "invalid", "purpose must be record or oath")
    try:
        return JSONResponse(await _office(request).receipt(hid, actor.id, purpose))
    except SealError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


def _size(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise ApiError(400, "invalid", f"{name} must be a positive integer")
    return int(raw)


async def get_tree_head(request: Request) -> JSONResponse:
    """The transparency log's latest (or ``?tree_size=``) signed, timestamped tree head."""
    head = await asyncio.to_thread(_office(request).tlog.head, _size(request, "tree_size"))
    if head is None:
        raise ApiError(404, "not_found", "no such tree head")
    return JSONResponse(head)


async def get_inclusion(request: Request) -> JSONResponse:
    """``?hearing_id=`` [``&tree_size=``]: the record's leaf and its inclusion proof under a
    tree head; save it and pass it to ``courtroom verify --tree-head``."""
    hid = request.query_params.get("hearing_id") or ""
    office = _office(request)
    bundle = await asyncio.to_thread(office.tlog.proof, hid, _size(request, "tree_size"))
    if bundle is None:
        raise ApiError(404, "not_found", "that hearing is not in the transparency log")
    return JSONResponse(bundle)


async def get_consistency(request: Request) -> JSONResponse:
    """``?first=&second=``: proof that the tree of ``first`` leaves is a prefix of ``second``."""
    first, second = _size(request, "first"), _size(request, "second")
    if first is None or second is None:
        raise ApiError(400, "invalid", "give first and second tree sizes")
    try:
        proof = await asyncio.to_thread(_office(request).tlog.consistency, first, second)
    except ValueError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    return JSONResponse(proof)


routes: list[BaseRoute] = [
    Route("/api/v1/hearings/{hearing_id}/receipt", _errors(get_receipt), methods=["GET"]),
    Route("/api/v1/transparency/tree-head", _errors(get_tree_head), methods=["GET"]),
    Route("/api/v1/transparency/inclusion", _errors(get_inclusion), methods=["GET"]),
    Route("/api/v1/transparency/consistency", _errors(get_consistency), methods=["GET"]),
    Route("/api/v1/hearings/{hearing_id}/record", _errors(get_record), methods=["GET"]),
    Route("/api/v1/hearings/{hearing_id}/oath", _errors(get_oath), methods=["GET"]),
    Route("/api/v1/hearings/{hearing_id}/strokes", _errors(post_stroke), methods=["POST"]),
    Route("/api/v1/hearings/{hearing_id}/seal", _errors(post_seal), methods=["POST"]),
    Route("/api/v1/hearings/{hearing_id}/record.pdf", _errors(get_record_pdf), methods=["GET"]),
    Route("/api/v1/verify", _errors(post_verify), methods=["POST"]),
]
