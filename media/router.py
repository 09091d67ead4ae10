"""Applies media-plan differences to outlets.

The router owns no sockets: it diffs the current plan against the new one and
tells an :class:`OutletPort` (the hub) which routes to open and which to cut.
A cut only disables the destination's forwarded track (packets stop at once; the
transceiver stays, so no renegotiation); a later restore re-enables it and asks
the publisher for a keyframe. Only a route that never had an outlet on the
destination's current connection costs a renegotiation.

Outlets are keyed by (source, kind, link): a supervision route and a hearing
route between the same two people are different tracks on the wire, so a
waiting participant can never receive a hearing track through a supervision one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from courtroom.domain.routing import MediaPlan, Route


@dataclass(frozen=True, slots=True)
class PlanDiff:
    added: frozenset[Route]
    removed: frozenset[Route]

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed


def diff_plans(old: MediaPlan, new: MediaPlan) -> PlanDiff:
    return PlanDiff(added=frozenset(new - old), removed=frozenset(old - new))


class OutletPort(Protocol):
    def cut(self, route: Route) -> None:
        """Stop forwarding ``route`` now (idempotent; no-op without a connection)."""

    def open(self, route: Route) -> bool:
        """Forward ``route``; True when the destination needs a new offer."""


class MediaRouter:
    def __init__(self, port: OutletPort) -> None:
        self._port = port
        self.plan: MediaPlan = frozenset()

    def apply(self, plan: MediaPlan) -> tuple[PlanDiff, set[str]]:
        """Cut removed routes first (isolation before admission), then open added ones.

        Returns the diff and the destinations that need renegotiation.
        """
        diff = diff_plans(self.plan, plan)
        self.plan = frozenset(plan)
        for route in sorted(diff.removed):
            self._port.cut(route)
        return diff, self._open(sorted(diff.added))

    def routes_to(self, destination: str) -> list[Route]:
        return sorted(r for r in self.plan if r.destination == destination)

    def reattach(self, destination: str) -> set[str]:
        """A destination has a new connection: give it exactly its current routes."""
        return self._open(self.routes_to(destination))

    def _open(self, routes: Iterable[Route]) -> set[str]:
        renegotiate: set[str] = set()
        for route in routes:
            if self._port.open(route):
                renegotiate.add(route.destination)
        return renegotiate
