"""REST for a cluster: where a hearing is, the nodes, draining; forwarding writes to the owner.

Any node answers REST. A write for a hearing this node does not hold raises ``NotOwner``
in the runtime; ``forward`` then sends the same request to the owner's internal URL and
answers what the owner answered (one hop: a forwarded request is never forwarded again).
"""

from __future__ import annotations

from dataclasses import asdict

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .gate import ApiError, bearer, caller, court_of, is_key
from .placement import NodeInfo, choose

FORWARDED = "x-courtroom-forwarded-by"
_PASS = ("authorization", "content-type", "accept")


def _node(info: NodeInfo | None) -> dict[str, object] | None:
    if info is None:
        return None
    view = asdict(info)
    view.pop("internal_url", None)
    return view


def _cluster(request: Request) -> object:
    court = court_of(request)
    if court.placement is None:
        raise ApiError(404, "not_clustered", "this server runs alone (no Redis or node URL)")
    return court.placement


async def placement(request: Request) -> JSONResponse:
    """Where a hearing is held; placing it on the least loaded live node if nowhere."""
    court = court_of(request)
    hearing_id = request.path_params["hearing_id"]
    await caller(request, hearing_id)  # the registry, or a participant of this hearing
    await court.runtime(hearing_id)  # 404 for an unknown hearing
    _cluster(request)
    owner, info = await court.where(hearing_id)
    assert court.placement is not None
    return JSONResponse(
        {
            "hearing_id": hearing_id,
            "node_id": owner,
            "node": _node(info),
            "ws_url": info.url.replace("http", "ws", 1) + "/ws" if info and info.alive else None,
            "answered_by": court.placement.node_id,
        }
    )


async def nodes(request: Request) -> JSONResponse:
    court = court_of(request)
    if not is_key(bearer(request, "registry key"), court.registry_key):
        raise ApiError(403, "forbidden", "the node list needs the registry key")
    _cluster(request)
    assert court.placement is not None
    listed = await court.placement.nodes()
    return JSONResponse({"this_node": court.placement.node_id, "nodes": [_node(n) for n in listed]})


async def drain(request: Request) -> JSONResponse:
    """Registry key: this node gives its hearings to the others and takes no new ones."""
    court = court_of(request)
    if not is_key(bearer(request, "registry key"), court.registry_key):
        raise ApiError(403, "forbidden", "draining a node needs the registry key")
    _cluster(request)
    assert court.placement is not None
    held = court.placement.held()
    await court.placement.drain()
    return JSONResponse({"node_id": court.placement.node_id, "moved": held})


async def forward(request: Request, hearing_id: str) -> Response | None:
    """Send the request to the hearing's owner. ``None``: this node holds it now, run it."""
    court = court_of(request)
    moving = JSONResponse(
        {"error": "moving", "message": "no node holds this hearing right now; retry"},
        status_code=503,
        headers={"Retry-After": "1"},
    )
    if court.placement is None or request.headers.get(FORWARDED):
        return moving
    if hearing_id:
        owner, info = await court.where(hearing_id)
        if owner == court.placement.node_id and court.holds(hearing_id):
            return None
    else:  # a new hearing, on a draining node: the least loaded other node schedules it
        live = {n.node_id: n for n in await court.placement.nodes()}
        live.pop(court.placement.node_id, None)
        target = choose(list(live.values()))
        info = live[target] if target else None
    if info is None or not info.alive or not (info.internal_url or info.url):
        return moving
    headers = {k: v for k, v in request.headers.items() if k.lower() in _PASS}
    headers[FORWARDED] = court.placement.node_id
    async with httpx.AsyncClient(timeout=30) as http:
        try:
            answer = await http.request(
                request.method,
                (info.internal_url or info.url) + request.url.path,
                params=request.query_params,
                content=await request.body(),
                headers=headers,
            )
        except httpx.HTTPError:
            return moving
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type"),
    )


def routes(errors: object) -> list[Route]:
    wrap = errors  # api._errors, passed in to keep the import one way
    assert callable(wrap)
    return [
        Route("/api/v1/hearings/{hearing_id}/placement", wrap(placement), methods=["GET"]),
        Route("/api/v1/nodes", wrap(nodes), methods=["GET"]),
        Route("/api/v1/nodes/self/drain", wrap(drain), methods=["POST"]),
    ]
