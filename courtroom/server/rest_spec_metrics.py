"""REST of the node's Prometheus figures (server/prometheus.py)."""

from __future__ import annotations

from .rest_spec_base import Error, Operation

METRICS = "metrics key (COURTROOM_METRICS_KEY or <data dir>/metrics.key), or registry key"

METRICS_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/metrics",
        "This node's figures in the Prometheus text format (hearings, participants by "
        "presence, forwarded packets and bytes, keyframe requests, ASR backlog, vision queue "
        "age, event-loop lag, websocket sessions, refused commands and credentials)",
        METRICS,
        answers=(
            (200, "Prometheus text format 0.0.4", "text/plain"),
            (401, "Not the metrics key", Error),
        ),
    ),
)
