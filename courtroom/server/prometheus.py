"""``GET /metrics``: the node's figures in the Prometheus text format (prometheus-client).

Every figure comes from the server's own accounting, read when Prometheus scrapes: the
hearing runtimes (hearings, participants by presence), the media hubs (packets forwarded,
keyframe requests, bytes sent), the ASR thread pool (chunks waiting), the vision worker
(age of the oldest frame waiting), the loop monitor (event-loop lag), the court's live
connections (websocket sessions) and the process tallies below (refused commands and
credentials). A fresh ``CollectorRegistry`` is built per scrape from one snapshot, so
several apps in one process (tests) never share state through prometheus-client's globals.

Counters must never go down, yet media hubs close with their hearings: a room's totals
are folded into ``Tally.retired`` when it closes (``MediaRooms.on_room`` → ``on_close``).
Bytes are read from each peer's transport stats at each scrape and when its room closes;
a peer that disconnects between two scrapes takes its last bytes with it (undercount).

Access: the metrics key (``COURTROOM_METRICS_KEY``, else ``<data dir>/metrics.key``) or the
registry key, as ``Authorization: Bearer``; a refused scrape is logged like any refusal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response

from ..domain.presence import Presence
from .gate import ApiError, bearer, court_of, is_key
from .refusals import SECURITY_STREAM
from .tally import TALLY, Tally

if TYPE_CHECKING:
    from .court import Court
    from .media_bridge import HearingMedia
    from .metrics import LoopMonitor

LAG_WINDOW_S = 60.0  # event-loop lag quantiles over the last minute


# --- media totals --------------------------------------------------------------------------


def _hub_totals(room: HearingMedia) -> Counter[str]:
    hub = room.hub
    totals: Counter[str] = Counter()
    totals["packets"] = sum(hub.counters.forwarded.values())
    totals["keyframe_requests"] = sum(s.hub.keyframe_requests for s in list(hub._sources.values()))
    return totals


async def _peer_bytes(room: HearingMedia) -> int:
    """Bytes sent to this room's live peers (transport stats), remembered per peer."""
    total = 0
    for peer in list(room.hub._peers.values()):
        sent = TALLY.peer_bytes.get(id(peer), 0)
        if not peer.closed:
            try:
                stats = list((await peer.pc.getStats()).values())
            except Exception:  # a peer closing under us: keep its last reading
                stats = []
            for stat in stats:
                if stat.type == "transport":
                    sent = max(sent, int(stat.bytesSent))
        TALLY.peer_bytes[id(peer)] = sent
        total += sent
    return total


async def retire_room(room: HearingMedia) -> None:
    """``MediaRooms.on_room`` hook: fold the room's totals into the tally when it closes."""

    async def fold() -> None:
        totals = _hub_totals(room)
        totals["bytes"] = await _peer_bytes(room)
        for peer in list(room.hub._peers.values()):
            TALLY.peer_bytes.pop(id(peer), None)
        TALLY.retired.update(totals)

    room.on_close.insert(0, fold)  # before the hub closes its peers


# --- one scrape ----------------------------------------------------------------------------


@dataclass
class Snapshot:
    node: str
    hearings: int = 0
    presence: Counter[str] = field(default_factory=Counter)
    connected: int = 0
    media: Counter[str] = field(default_factory=Counter)
    rooms: int = 0
    ws_sessions: int = 0
    asr_backlog: int = 0
    vision_wait_s: float = 0.0
    lag: dict[str, float] = field(default_factory=dict)


async def snapshot(court: Court, monitor: LoopMonitor) -> Snapshot:
    snap = Snapshot(node=court.placement.node_id if court.placement is not None else "")
    for hearing_id, runtime in list(court.runtimes._runtimes.items()):
        if hearing_id == SECURITY_STREAM or not court.holds(hearing_id):
            continue
        snap.hearings += 1
        for p in runtime.state.participants.values():
            snap.presence[p.presence.value] += 1
            snap.connected += p.connected
    snap.media.update(TALLY.retired)
    for room in court.media.rooms():
        snap.rooms += 1
        snap.media.update(_hub_totals(room))
        snap.media["bytes"] += await _peer_bytes(room)
    snap.ws_sessions = len(court.connections)
    snap.asr_backlog = court.asr_backlog()
    snap.vision_wait_s = court.vision.oldest_wait_s()
    lag = monitor.lag(LAG_WINDOW_S)
    snap.lag = {"0.5": lag.p50_ms / 1000, "0.99": lag.p99_ms / 1000, "1": lag.max_ms / 1000}
    return snap


# (name, help, kind, value of the snapshot) for the plain families
_PLAIN: tuple[tuple[str, str, str, Callable[[Snapshot], float]], ...] = (
    ("courtroom_hearings", "Hearings held (loaded and leased) by this node", "gauge",
     lambda s: s.hearings),
    ("courtroom_participants_connected", "Participants the log shows connected", "gauge",
     lambda s: s.connected),
    ("courtroom_media_rooms", "Media hubs open on this node", "gauge", lambda s: s.rooms),
    ("courtroom_forwarded_packets", "Packets (RTP path) or frames handed to senders", "counter",
     lambda s: s.media["packets"]),
    ("courtroom_forwarded_bytes", "Bytes sent to peers (transport stats, sampled)", "counter",
     lambda s: s.media["bytes"]),
    ("courtroom_keyframe_requests", "Keyframe requests sent upstream to publishers", "counter",
     lambda s: s.media["keyframe_requests"]),
    ("courtroom_asr_backlog_chunks", "Audio chunks waiting for a speech-recognition worker",
     "gauge", lambda s: s.asr_backlog),
    ("courtroom_vision_queue_age_seconds", "Age of the oldest frame waiting for a vision worker",
     "gauge", lambda s: s.vision_wait_s),
    ("courtroom_websocket_sessions", "Hearing websockets open on this node", "gauge",
     lambda s: s.ws_sessions),
)  # fmt: skip


class _SnapshotCollector:
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        s = self.snap
        for name, doc, kind, value in _PLAIN:
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield family(name, doc, value=value(s))
        presence = GaugeMetricFamily(
            "courtroom_participants",
            "Participants of held hearings, by presence",
            labels=["presence"],
        )
        for p in Presence:
            presence.add_metric([p.value], s.presence.get(p.value, 0))
        yield presence
        lag = GaugeMetricFamily(
            "courtroom_event_loop_lag_seconds",
            f"Event-loop lag over the last {LAG_WINDOW_S:g} s",
            labels=["quantile"],
        )
        for q, v in s.lag.items():
            lag.add_metric([q], v)
        yield lag
        yield _labelled(
            "courtroom_refused_commands",
            "Commands refused, by refusal code",
            "code",
            TALLY.refused_commands,
        )
        yield _labelled(
            "courtroom_refused_credentials",
            "Credentials refused, by reason",
            "reason",
            TALLY.refused_credentials,
        )
        node = GaugeMetricFamily("courtroom_node", "This node's id (always 1)", labels=["node"])
        node.add_metric([s.node], 1)
        yield node


def _labelled(name: str, doc: str, label: str, counts: Counter[str]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, value in sorted(counts.items()):
        family.add_metric([key], value)
    return family


def render(snap: Snapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snap))
    return generate_latest(registry)


async def prometheus_route(request: Request) -> Response:
    """``GET /metrics`` (metrics key or registry key): Prometheus text format."""
    court = court_of(request)
    secret = bearer(request, "metrics key")
    if not (is_key(secret, court.metrics_key) or is_key(secret, court.registry_key)):
        raise ApiError(
            401, "unauthenticated", "the metrics key is required", reason="not the metrics key"
        )
    body = render(await snapshot(court, request.app.state.monitor))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def metric_names() -> list[str]:
    """The metric families this module exports (for docs and tests)."""
    return sorted(m.name for m in _SnapshotCollector(Snapshot(node="")).collect())


__all__ = ["TALLY", "Tally", "metric_names", "prometheus_route", "retire_room", "snapshot"]
