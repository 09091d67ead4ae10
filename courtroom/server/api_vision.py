"""REST routes for the discipline watch and identity checks: ID photos, flags, inspector review."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
