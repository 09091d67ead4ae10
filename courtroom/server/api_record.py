"""REST routes for the sealed record: review, signing, sealing, verification."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
