"""The Starlette application. The lifespan owns the long-lived resources."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from ..broadcast.office import BroadcastOffice
from ..bus import open_bus
from ..config import Settings
from . import cpu
from .api import _errors
from .api import routes as api_routes
from .api_cluster import routes as cluster_routes
from .api_exhibits import routes as exhibit_routes
from .api_public import routes as public_routes
from .api_record import routes as record_routes
from .api_review import routes as review_routes
from .api_vision import routes as vision_routes
from .continuity import Continuity
from .court import Court
from .evidence_clips import EvidenceClips
from .media_bridge import media_only
from .metrics import LoopMonitor, metrics_route
from .prometheus import prometheus_route, retire_room
from .status import server_status
from .strain import StrainWatch
from .ws import hearing_socket

STATIC = Path(__file__).resolve().parents[2] / "static"


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        bus = open_bus(settings.redis_url)
        court = Court(settings, bus)
        clips = EvidenceClips(court)  # a clip beside every flag's snapshot
        if not media_only():
            court.media.on_room.append(clips.on_room)
        status = server_status(settings)
        app.state.court = court
        app.state.status = status
        court.status_for_clients = {"transcription": status["transcription"]}
        # The public broadcast plugs into each hearing's media room (courtroom/broadcast/).
        app.state.broadcasts = BroadcastOffice(settings)
        court.media.on_room.append(app.state.broadcasts.on_room)
        court.media.on_room.append(retire_room)  # /metrics keeps a closed room's totals
        cpu.install()
        monitor = LoopMonitor()
        app.state.monitor = monitor
        monitor.start()
        # Each hearing served here is told when this node falls behind (server/strain.py).
        strain = StrainWatch(lambda window: monitor.lag(window).p99_ms,
                             lambda: {hearing for hearing, _ in court.connections},
                             court.runtime, settings.effective_node_id or "this node")
        strain.start()
        court.start()
        await court.start_placement()
        if court.placement is not None:
            # A moved hearing's recording clock continues and its hole is logged.
            continuity = Continuity(court.log, court.placement.node_id)
            court.placement.on_acquired.append(continuity.on_acquired)
            court.media.on_room.insert(0, continuity.on_room)  # before the taps read the clock
        try:
            yield
        finally:
            await strain.stop()
            await monitor.stop()
            await clips.close()  # before the court: a pending clip is not logged at shutdown
            await court.close()
            await bus.close()

    routes: list[Any] = [
        *api_routes,
        *record_routes,
        *vision_routes,
        *review_routes,
        *exhibit_routes,
        *cluster_routes(_errors),
        *public_routes(STATIC),
        Route("/api/v1/metrics", _errors(metrics_route), methods=["GET"]),
        Route("/metrics", _errors(prometheus_route), methods=["GET"]),
        WebSocketRoute("/ws", hearing_socket),
    ]
    if STATIC.is_dir():
        # Join links read /join?h=...&p=...: the participant app.
        async def join_page(request: Request) -> FileResponse:
            return FileResponse(STATIC / "join.html")

        routes.append(Route("/join", join_page, methods=["GET"]))
        routes.append(Mount("/", StaticFiles(directory=STATIC, html=True), name="static"))

    async def http_error(request: Request, exc: Exception) -> Response:
        # Unmatched paths and methods answer in the API's JSON error format too.
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    return Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
