"""REST of a cluster (server/api_cluster.py): where a hearing is held, the nodes, draining."""

from __future__ import annotations

from dataclasses import dataclass, field

from .rest_spec_base import PARTICIPANT, REGISTRY, Error, H, Operation


@dataclass(frozen=True)
class NodeView:
    node_id: str
    url: str = field(metadata={"doc": "the node's public URL (clients reach it there)"})
    alive: bool = field(metadata={"doc": "its heartbeat has not expired"})
    draining: bool
    hearings: int = field(metadata={"doc": "hearings placed on it (its load)"})


@dataclass(frozen=True)
class PlacementView:
    hearing_id: str
    node_id: str | None = field(metadata={"doc": "the owner; null when no node is alive"})
    node: NodeView | None
    ws_url: str | None = field(metadata={"doc": "the owner's websocket, null while it moves"})
    answered_by: str = field(metadata={"doc": "the node that answered (any node answers)"})


@dataclass(frozen=True)
class NodeList:
    this_node: str
    nodes: list[NodeView]


@dataclass(frozen=True)
class Drained:
    node_id: str
    moved: list[str] = field(metadata={"doc": "the hearings given to other nodes"})


CLUSTER_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        H + "/placement",
        "Which node holds the hearing (placing it on the least loaded live node if none does)",
        PARTICIPANT,
        answers=(
            (200, "Placement", PlacementView),
            (404, "No such hearing, or a server without a cluster", Error),
        ),
    ),
    Operation(
        "GET",
        "/api/v1/nodes",
        "The cluster's nodes, their heartbeats and loads",
        REGISTRY,
        answers=((200, "Nodes", NodeList), (404, "Not a cluster", Error)),
    ),
    Operation(
        "POST",
        "/api/v1/nodes/self/drain",
        "Drain the node that answers: its hearings go to the others, it takes no new ones",
        REGISTRY,
        answers=((200, "Drained", Drained), (404, "Not a cluster", Error)),
    ),
)
