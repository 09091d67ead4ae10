"""Placement: which node holds each hearing's single writer and media, when there are several.

Cluster mode is on when a node has both a Redis URL and its own public URL (``node_url``).
Everything lives in Redis, under ``courtroom:``:

* ``node:<id>``        the node's heartbeat: JSON ``{id, url, draining, hearings}``, expiring
                       after ``lease_ttl_s`` unless renewed (every ``heartbeat_s``).
* ``nodes``            the ids of every node seen (a dead node's id stays until swept).
* ``node-urls``        id -> public URL, kept after a node dies (to say who *was* the owner).
* ``lease:<hearing>``  the owning node's id, ``SET NX PX lease_ttl``: placing a hearing is
                       winning this key; the owner renews it (compare-and-expire, in Lua).
* ``held:<id>``        the hearings placed on node ``<id>`` (its load, and what it renews).
* ``last-owner:<hearing>``  JSON ``{node, at}`` of the last renewal: a new owner logs the gap.
* ``drain:<id>``       set by ``courtroom drain``: the node gives its hearings away.

Fencing: the owner writes only while its *local* lease deadline (taken before the renewal
was sent, minus a margin) is in the future, so it stops writing before Redis can hand the
hearing to another node; the log's sequence check refuses whatever slips through.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

PREFIX = "courtroom:"
NODES = PREFIX + "nodes"
NODE_URLS = PREFIX + "node-urls"
FENCE_MARGIN = 0.8  # a node stops writing after this share of the lease's time to live
# Failover takes the lease's expiry plus up to a heartbeat to notice and one to adopt, so the
# heartbeat is short (1 s) whatever the lease; a lease under 3 s beats at a third of it.
HEARTBEAT_S = 1.0
DEFAULT_LEASE_TTL_S = 5.0
MIN_LEASE_TTL_S = 0.5

# Place ``hearing`` on ARGV[1] unless someone holds it; answers the owner either way.
_PLACE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('SADD', KEYS[2], ARGV[3])
  return ARGV[1]
end
return redis.call('GET', KEYS[1])
"""
# Renew if ARGV[1] holds the lease; answers the previous last-owner record ('' if none).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  local previous = redis.call('GET', KEYS[2])
  redis.call('SET', KEYS[2], ARGV[3])
  return {1, previous or ''}
end
return {0, ''}
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def lease_key(hearing_id: str) -> str:
    return f"{PREFIX}lease:{hearing_id}"


def held_key(node_id: str) -> str:
    return f"{PREFIX}held:{node_id}"


def node_key(node_id: str) -> str:
    return f"{PREFIX}node:{node_id}"


def last_owner_key(hearing_id: str) -> str:
    return f"{PREFIX}last-owner:{hearing_id}"


def drain_key(node_id: str) -> str:
    return f"{PREFIX}drain:{node_id}"


@dataclass(frozen=True)
class NodeInfo:
    node_id: str
    url: str
    alive: bool
    internal_url: str = ""
    draining: bool = False
    hearings: int = 0


@dataclass(frozen=True)
class Previous:
    """Who held a hearing before this node, and when they last renewed (epoch seconds)."""

    node_id: str
    at: float


Acquired = Callable[[str, Previous | None], Awaitable[None]]
Lost = Callable[[str], Awaitable[None]]


class Placement:
    def __init__(
        self,
        redis_url: str,
        node_id: str,
        node_url: str,
        internal_url: str = "",
        *,
        lease_ttl_s: float = DEFAULT_LEASE_TTL_S,
    ) -> None:
        if not (math.isfinite(lease_ttl_s) and lease_ttl_s >= MIN_LEASE_TTL_S):
            raise ValueError(f"the lease must be at least {MIN_LEASE_TTL_S:g} s")
        # Any: redis-py's async types are loose about str/bytes; answers are str here.
        self.redis: Any = aioredis.Redis.from_url(redis_url, decode_responses=True)
        self.node_id = node_id
        self.node_url = node_url.rstrip("/")  # for clients (through the proxy)
        self.internal_url = internal_url.rstrip("/") or self.node_url  # for other nodes
        self.lease_ttl_s = lease_ttl_s
        self.heartbeat_s = min(HEARTBEAT_S, lease_ttl_s / 3)
        self.draining = False
        self._held: dict[str, float] = {}  # hearing -> local deadline (monotonic)
        self._place = self.redis.register_script(_PLACE)
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)
        self.on_acquired: list[Acquired] = []
        self.on_lost: list[Lost] = []
        self._loop: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one adoption/renewal pass at a time

    @property
    def _ttl_ms(self) -> int:
        return int(self.lease_ttl_s * 1000)

    # --- what anyone may ask -------------------------------------------------------------

    def holds(self, hearing_id: str) -> bool:
        """Whether this node may write ``hearing_id`` now (its local lease is unexpired)."""
        deadline = self._held.get(hearing_id)
        return deadline is not None and deadline > time.monotonic()

    def held(self) -> list[str]:
        return [h for h in self._held if self.holds(h)]

    async def nodes(self) -> list[NodeInfo]:
        ids = sorted(await self.redis.smembers(NODES))
        if not ids:
            return []
        beats = await self.redis.mget([node_key(i) for i in ids])
        urls = await self.redis.hmget(NODE_URLS, ids)
        out = []
        for node_id, beat, url in zip(ids, beats, urls, strict=True):
            info: dict[str, Any] = json.loads(beat) if beat else {}
            out.append(
                NodeInfo(
                    node_id,
                    str(info.get("url") or url or ""),
                    alive=beat is not None,
                    internal_url=str(info.get("internal") or ""),
                    draining=bool(info.get("draining")),
                    hearings=await self.redis.scard(held_key(node_id)),
                )
            )
        return out

    async def owner(self, hearing_id: str) -> str | None:
        value = await self.redis.get(lease_key(hearing_id))
        return str(value) if value is not None else None

    async def locate(self, hearing_id: str) -> tuple[str | None, NodeInfo | None]:
        """The hearing's owner, placing it on the least loaded live node if nobody holds it.

        Answers ``(owner id, its info)``; ``(None, None)`` when no node can take it. Every node
        answers alike: the first ``SET NX`` wins and the others read the winner.
        """
        owner = await self.owner(hearing_id)
        nodes = {n.node_id: n for n in await self.nodes()}
        if owner is None:
            target = choose(list(nodes.values()))
            if target is None:
                return None, None
            owner = await self.place(hearing_id, target)
        if owner == self.node_id and not self.holds(hearing_id):
            await self.adopt(hearing_id)
        return owner, nodes.get(owner) if owner else None

    async def place(self, hearing_id: str, target: str) -> str | None:
        """Place ``hearing_id`` on ``target`` unless it is held; answers the owner."""
        result = await self._place(
            keys=[lease_key(hearing_id), held_key(target)],
            args=[target, self._ttl_ms, hearing_id],
        )
        return str(result) if result is not None else None

    async def acquire(self, hearing_id: str) -> bool:
        """Place ``hearing_id`` on this node (a hearing it has just scheduled)."""
        if self.draining:
            return False
        owner = await self.place(hearing_id, self.node_id)
        return owner == self.node_id and await self.adopt(hearing_id, new_hearing=True)

    # --- holding -------------------------------------------------------------------------

    async def adopt(self, hearing_id: str, *, new_hearing: bool = False) -> bool:
        """Renew the lease if it is ours; the first time, run the ``on_acquired`` hooks
        (not for a hearing being scheduled: there is nothing to take over)."""
        started = time.monotonic()
        record = json.dumps({"node": self.node_id, "at": time.time()})
        ok, previous = await self._renew(
            keys=[lease_key(hearing_id), last_owner_key(hearing_id)],
            args=[self.node_id, self._ttl_ms, record],
        )
        if not int(ok):
            return False
        new = hearing_id not in self._held
        self._held[hearing_id] = started + self.lease_ttl_s * FENCE_MARGIN
        if new and not new_hearing:
            before = json.loads(previous) if previous else None
            prev = Previous(str(before["node"]), float(before["at"])) if before else None
            log.info("node %s holds hearing %s (before: %s)", self.node_id, hearing_id, prev)
            for hook in self.on_acquired:
                try:
                    await hook(hearing_id, prev)
                except Exception:
                    log.exception("hearing %s: taking over failed", hearing_id)
        return True

    async def _lose(self, hearing_id: str) -> None:
        if self._held.pop(hearing_id, None) is None:
            return
        log.warning("node %s no longer holds hearing %s", self.node_id, hearing_id)
        for hook in self.on_lost:
            try:
                await hook(hearing_id)
            except Exception:
                log.exception("hearing %s: giving up failed", hearing_id)

    # --- the heartbeat -------------------------------------------------------------------

    async def start(self) -> None:
        await self.beat()
        self._loop = asyncio.create_task(self._run(), name=f"placement-{self.node_id}")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self.beat()
            except Exception:
                log.exception("node %s: heartbeat failed", self.node_id)

    async def beat(self) -> None:
        """Register, renew every lease placed here, adopt new ones, re-place a dead node's."""
        async with self._lock:
            if not self.draining and await self.redis.exists(drain_key(self.node_id)):
                await self._drain()
            info = {
                "id": self.node_id,
                "url": self.node_url,
                "internal": self.internal_url,
                "draining": self.draining,
                "hearings": len(self._held),
            }
            await self.redis.set(node_key(self.node_id), json.dumps(info), px=self._ttl_ms)
            await self.redis.sadd(NODES, self.node_id)
            await self.redis.hset(NODE_URLS, self.node_id, self.node_url)
            mine = set(await self.redis.smembers(held_key(self.node_id)))
            for hearing_id in sorted(mine | set(self._held)):
                if not await self.adopt(hearing_id):
                    await self._lose(hearing_id)
                    if await self.owner(hearing_id) != self.node_id:
                        await self.redis.srem(held_key(self.node_id), hearing_id)
            await self._sweep()

    async def _sweep(self) -> None:
        """Hearings of dead nodes whose leases have expired are placed on live nodes."""
        nodes = await self.nodes()
        for dead in (n for n in nodes if not n.alive):
            key = held_key(dead.node_id)
            for hearing_id in sorted(await self.redis.smembers(key)):
                owner = await self.owner(hearing_id)
                if owner == dead.node_id:
                    continue  # its lease has not expired yet
                if owner is None:
                    target = choose(nodes)
                    if target is None:
                        continue
                    if await self.place(hearing_id, target) == self.node_id:
                        await self.adopt(hearing_id)  # now, not at the next heartbeat
                    nodes = await self.nodes()
                await self.redis.srem(key, hearing_id)
            if not await self.redis.scard(key):
                await self.redis.srem(NODES, dead.node_id)

    async def drain(self) -> None:
        async with self._lock:
            await self._drain()

    async def _drain(self) -> None:
        """Stop taking hearings, give every held one to another live node."""
        self.draining = True
        info: dict[str, object] = {"id": self.node_id, "url": self.node_url, "draining": True}
        info["internal"] = self.internal_url
        await self.redis.set(node_key(self.node_id), json.dumps(info), px=self._ttl_ms)
        for hearing_id in sorted(self._held):
            await self._lose(hearing_id)  # stop writing first, then let go
            await self._release(keys=[lease_key(hearing_id)], args=[self.node_id])
            await self.redis.srem(held_key(self.node_id), hearing_id)
            target = choose(await self.nodes())
            if target is not None:
                await self.place(hearing_id, target)
        await self.redis.delete(drain_key(self.node_id))

    async def close(self) -> None:
        """Stop renewing. Leases are kept: a restarting node renews them, else they expire."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        await self.redis.aclose()


def choose(nodes: list[NodeInfo]) -> str | None:
    """The live, undrained node with the fewest hearings (ties: the lowest id)."""
    live = [n for n in nodes if n.alive and not n.draining]
    if not live:
        return None
    return min(live, key=lambda n: (n.hearings, n.node_id)).node_id


async def request_drain(redis_url: str, node_id: str) -> None:
    """Ask ``node_id`` to drain at its next heartbeat (``courtroom drain``)."""
    client: aioredis.Redis = aioredis.Redis.from_url(redis_url)
    try:
        await client.set(drain_key(node_id), "1")
    finally:
        await client.aclose()
