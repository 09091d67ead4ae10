"""REST routes for the discipline watch and identity checks: ID photos, flags, inspector review.

Inspectors are not hearing participants: they present the inspector key
(``COURTROOM_INSPECTOR_KEY``, else ``<data_dir>/inspector.key``) and act as
``Actor("inspector", Role.INSPECTOR)``. The bench (judge, clerk) and the registry may also read
a hearing's evidence and recordings with their usual credentials.
"""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..domain import commands as c
from ..domain.hearing import Actor, FlagState, HearingState
from ..domain.roles import Permission, Role
from ..schema import required_fields
from .api import _actor, _body, _court, _errors
from .court import Court
from .evidence_clips import kept_clips
from .gate import ApiError, bearer, is_key
from .identity import MAX_PHOTO_BYTES, EnrolmentRefused
from .refusals import SECURITY_STREAM
from .rest_spec_vision import ReviewBody
from .runtime import HearingRuntime, UnknownHearing

INSPECTOR = Actor("inspector", Role.INSPECTOR)
SEGMENT_MARGIN_S = 10.0
_SHA = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# <participant>-<kind>-NNNNN-<ms>.webm, as media/recording.py names them.
_RECORDING = re.compile(r"^[A-Za-z0-9_-]{1,64}-(audio|video|screen)-\d{5}-\d{1,13}\.webm$")
_DISPOSITIONS = ("confirmed", "dismissed", "pending")


def _is_inspector(request: Request) -> bool:
    secret = bearer(request, "inspector key")
    return is_key(secret, _court(request).inspector_key)


def _inspector(request: Request) -> Actor:
    if not _is_inspector(request):
        raise ApiError(
            401, "unauthenticated", "the inspector key is required", reason="not the inspector key"
        )
    return INSPECTOR


async def _reader(request: Request, hearing_id: str) -> Actor:
    """The inspector, or whoever may read this hearing's log (registry, judge, clerk)."""
    if _is_inspector(request):
        return INSPECTOR
    return await _actor(request, hearing_id, Permission.READ_AUDIT_LOG)


def _checked_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise ApiError(404, "not_found", f"no such {what}")
    return value


async def _runtime(court: Court, hearing_id: str) -> HearingRuntime:
    return await court.runtime(_checked_id(hearing_id, "hearing"))


# --- identity ------------------------------------------------------------------------------


async def upload_id_photo(request: Request) -> JSONResponse:
    """The clerk, the judge or a kiosk supervisor registers a participant's ID photo."""
    hearing_id = request.path_params["hearing_id"]
    participant_id = _checked_id(request.path_params["participant_id"], "participant")
    actor = await _actor(request, hearing_id, Permission.REGISTER_ID_PHOTO)
    court = _court(request)
    runtime = await _runtime(court, hearing_id)
    if runtime.state.participant(participant_id) is None:
        raise ApiError(404, "not_found", "no such participant in this hearing")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_PHOTO_BYTES:
        raise ApiError(413, "too_large", f"an ID photo is at most {MAX_PHOTO_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PHOTO_BYTES:
            raise ApiError(413, "too_large", f"an ID photo is at most {MAX_PHOTO_BYTES} bytes")
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise ApiError(400, "malformed", "send the photo (JPEG or PNG) as the request body")
    worker = await court.vision.worker()  # the models load here if no room loaded them yet
    encode = worker.enroll if worker is not None else None
    try:
        sha = await asyncio.to_thread(
            court.vision.identity.enroll, runtime.hearing_id, participant_id, data, encode
        )
    except EnrolmentRefused as exc:
        raise ApiError(400, "unusable_photo", exc.reason) from None
    outcome = await court.command(hearing_id, c.RegisterIdPhoto(participant_id, sha), actor)
    seq = outcome.entries[-1].seq if outcome.entries else runtime.head
    return JSONResponse(
        {"participant_id": participant_id, "sha256": sha, "seq": seq}, status_code=201
    )


async def vision_status(request: Request) -> JSONResponse:
    return JSONResponse(_court(request).vision.status())


async def hearing_vision(request: Request) -> JSONResponse:
    """The watch over one hearing: who is watched, frames checked, the recording clock now."""
    hearing_id = request.path_params["hearing_id"]
    await _reader(request, hearing_id)
    court = _court(request)
    runtime = await _runtime(court, hearing_id)
    watch = court.vision.rooms.get(runtime.hearing_id)
    return JSONResponse(
        {
            **court.vision.status(),
            "active": watch is not None,
            "clock": watch.hub.clock.now() if watch is not None else None,
            "watched": sorted(watch.watched) if watch is not None else [],
            "samples": watch.samples if watch is not None else 0,
        }
    )


# --- flags ---------------------------------------------------------------------------------


def _flag_json(state: HearingState, f: FlagState, clip: str | None = None) -> dict[str, Any]:
    """``clip``: the SHA-256 of the flag's evidence clip, once it is kept (evidence_clips.py)."""
    p = state.participant(f.participant)
    hid = state.hearing_id
    return {
        "hearing_id": hid,
        "case_number": state.case_number,
        "flag_id": f.flag_id,
        "participant": f.participant,
        "role": p.role.value if p is not None else None,
        "display_name": p.display_name if p is not None else None,
        "kind": f.kind,
        "t0": f.t0,
        "t1": f.t1,
        "open": f.t1 is None,
        "confidence": f.confidence,
        "evidence_sha256": f.evidence_sha256,
        "evidence_t": f.evidence_t,
        "evidence_url": (
            f"/api/v1/hearings/{hid}/evidence/{f.evidence_sha256}.jpg"
            if f.evidence_sha256
            else None
        ),
        "recordings_url": f"/api/v1/hearings/{hid}/flags/{f.flag_id}/recordings",
        "clip_sha256": clip,
        "clip_url": f"/api/v1/hearings/{hid}/review/media/{clip}.webm" if clip else None,
        "disposition": f.disposition or "pending",
        "note": f.note,
    }


async def _states(court: Court, hearing: str | None) -> list[HearingState]:
    if hearing:
        try:
            return [(await _runtime(court, hearing)).state]
        except UnknownHearing:
            return []
    out: list[HearingState] = []
    for hid in await asyncio.to_thread(court.log.hearing_ids):
        if hid == SECURITY_STREAM or not _ID.match(hid):
            continue
        try:
            out.append((await court.runtime(hid)).state)
        except UnknownHearing:
            continue
    return out


def _query(request: Request, name: str, allowed: tuple[str, ...] | None = None) -> str | None:
    value = request.query_params.get(name, "").strip() or None
    if value is not None and allowed is not None and value not in allowed:
        raise ApiError(400, "malformed", f"{name} must be one of: {', '.join(allowed)}")
    return value


async def list_flags(request: Request) -> JSONResponse:
    _inspector(request)
    hearing = _query(request, "hearing")
    kind = _query(request, "kind")
    disposition = _query(request, "disposition", _DISPOSITIONS)
    participant = _query(request, "participant")
    flags: list[dict[str, Any]] = []
    court = _court(request)
    for state in await _states(court, hearing):
        clips = await kept_clips(court, state.hearing_id) if state.flags else {}
        for f in state.flags.values():
            if kind and f.kind != kind:
                continue
            if participant and f.participant != participant:
                continue
            if disposition and (f.disposition or "pending") != disposition:
                continue
            flags.append(_flag_json(state, f, clips.get(f.flag_id)))
    flags.sort(key=lambda x: (x["hearing_id"], x["t0"]))
    return JSONResponse({"flags": flags})


async def flag_stats(request: Request) -> JSONResponse:
    """Per kind: raised, confirmed, dismissed, pending and the dismissal rate of those reviewed."""
    _inspector(request)
    counts: dict[str, dict[str, int]] = {}
    for state in await _states(_court(request), _query(request, "hearing")):
        for f in state.flags.values():
            row = counts.setdefault(
                f.kind, {"raised": 0, "confirmed": 0, "dismissed": 0, "pending": 0}
            )
            row["raised"] += 1
            row[f.disposition or "pending"] += 1
    kinds = {k: {**row, "dismissal_rate": _rate(row)} for k, row in sorted(counts.items())}
    total = {
        n: sum(r[n] for r in counts.values())
        for n in ("raised", "confirmed", "dismissed", "pending")
    }
    return JSONResponse({"kinds": kinds, "total": {**total, "dismissal_rate": _rate(total)}})


def _rate(row: dict[str, int]) -> float | None:
    reviewed = row["confirmed"] + row["dismissed"]
    return round(row["dismissed"] / reviewed, 4) if reviewed else None


async def review_flag(request: Request) -> JSONResponse:
    actor = _inspector(request)
    hearing_id = request.path_params["hearing_id"]
    flag_id = _checked_id(request.path_params["flag_id"], "flag")
    body = await _body(request, *required_fields(ReviewBody))
    note = body.get("note", "")
    if not isinstance(note, str):
        raise ApiError(400, "malformed", "note must be a string")
    court = _court(request)
    runtime = await _runtime(court, hearing_id)
    outcome = await court.command(
        runtime.hearing_id, c.ReviewFlag(flag_id, body["disposition"], note), actor
    )
    flag = runtime.state.flags.get(flag_id)
    clip = (await kept_clips(court, runtime.hearing_id)).get(flag_id)
    return JSONResponse(
        {
            "seq": outcome.entries[-1].seq if outcome.entries else runtime.head,
            "flag": _flag_json(runtime.state, flag, clip) if flag is not None else None,
        }
    )


# --- evidence and recordings ---------------------------------------------------------------


async def evidence(request: Request) -> Response:
    hearing_id = request.path_params["hearing_id"]
    await _reader(request, hearing_id)
    sha = request.path_params["sha256"]
    if not _SHA.match(sha):
        raise ApiError(404, "not_found", "no such snapshot")
    court = _court(request)
    runtime = await _runtime(court, hearing_id)
    if not any(f.evidence_sha256 == sha for f in runtime.state.flags.values()):
        raise ApiError(404, "not_found", "no such snapshot")
    path = court.vision.evidence_path(runtime.hearing_id, sha)
    if not path.is_file():
        raise ApiError(404, "not_found", "the snapshot file is missing")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private"})


async def _recordings(court: Court, hearing_id: str) -> list[dict[str, Any]]:
    entries = await asyncio.to_thread(court.log.read, hearing_id, 0)
    return [dict(e.payload) for e in entries if e.type == "recording_finished"]


async def flag_recordings(request: Request) -> JSONResponse:
    """The flagged participant's recording segments overlapping [t0 - 10 s, t1 + 10 s]."""
    hearing_id = request.path_params["hearing_id"]
    await _reader(request, hearing_id)
    court = _court(request)
    runtime = await _runtime(court, hearing_id)
    flag = runtime.state.flags.get(request.path_params["flag_id"])
    if flag is None:
        raise ApiError(404, "not_found", "no such flag")
    lo = flag.t0 - SEGMENT_MARGIN_S
    hi = (flag.t1 if flag.t1 is not None else math.inf) + SEGMENT_MARGIN_S
    segments = []
    for r in await _recordings(court, runtime.hearing_id):
        if r["participant"] != flag.participant or r["end"] < lo or r["start"] > hi:
            continue
        segments.append(
            {
                "file": r["file"],
                "kind": r["kind"],
                "start": r["start"],
                "end": r["end"],
                "sha256": r["sha256"],
                "bytes": r["bytes"],
                "url": f"/api/v1/hearings/{runtime.hearing_id}/recordings/{r['file']}",
                # Where the flag starts inside this file, for the player.
                "flag_offset": round(min(max(0.0, flag.t0 - r["start"]), r["end"] - r["start"]), 3),
            }
        )
    segments.sort(key=lambda s: (s["start"], s["kind"]))
    clip = (await kept_clips(court, runtime.hearing_id)).get(flag.flag_id)
    return JSONResponse(
        {
            "flag": _flag_json(runtime.state, flag, clip),
            "window": [lo, None if math.isinf(hi) else hi],
            "segments": segments,
        }
    )


async def recording_file(request: Request) -> Response:
    hearing_id = request.path_params["hearing_id"]
    await _reader(request, hearing_id)
    name = request.path_params["file"]
    if not _RECORDING.match(name):
        raise ApiError(404, "not_found", "no such recording")
    court = _court(request)
    runtime = await _runtime(court, hearing_id)
    # Only files the log vouches for, and only by their bare name inside this hearing's folder.
    if not any(r["file"] == name for r in await _recordings(court, runtime.hearing_id)):
        raise ApiError(404, "not_found", "no such recording")
    folder = (court.settings.data_dir / "recordings" / runtime.hearing_id).resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        raise ApiError(404, "not_found", "the recording file is missing")
    kind = "audio/webm" if "-audio-" in name else "video/webm"  # a camera or a shared screen
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "private"})


routes: list[BaseRoute] = [
    Route("/api/v1/vision/status", _errors(vision_status), methods=["GET"]),
    Route("/api/v1/hearings/{hearing_id}/vision", _errors(hearing_vision), methods=["GET"]),
    Route(
        "/api/v1/hearings/{hearing_id}/participants/{participant_id}/id-photo",
        _errors(upload_id_photo),
        methods=["POST"],
    ),
    Route("/api/v1/flags", _errors(list_flags), methods=["GET"]),
    Route("/api/v1/flags/stats", _errors(flag_stats), methods=["GET"]),
    Route(
        "/api/v1/hearings/{hearing_id}/flags/{flag_id}/review",
        _errors(review_flag),
        methods=["POST"],
    ),
    Route(
        "/api/v1/hearings/{hearing_id}/flags/{flag_id}/recordings",
        _errors(flag_recordings),
        methods=["GET"],
    ),
    Route(
        "/api/v1/hearings/{hearing_id}/evidence/{sha256}.jpg",
        _errors(evidence),
        methods=["GET"],
    ),
    Route(
        "/api/v1/hearings/{hearing_id}/recordings/{file}",
        _errors(recording_file),
        methods=["GET"],
    ),
]
