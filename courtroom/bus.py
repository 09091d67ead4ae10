"""The event bus: pushes JSON messages for a topic (a hearing) to every subscriber.

The database log is the truth; the bus only carries notifications so that every node
can wake its clients. Two implementations share one behaviour:

* ``InProcessBus`` (the default): one process, no dependencies.
* ``RedisBus``: Redis pub/sub on channel ``courtroom:<topic>``, for several nodes.
  Each node holds one pub/sub connection and fans out locally.

Slow subscribers
----------------
Every subscription has a bounded buffer (``queue_size``, default 1024). Publishing
never waits for a subscriber: if a subscription's buffer is full when a message
arrives, the subscription is marked lost (``sub.lost`` is True), its buffer is dropped,
it is detached from the topic, and iterating it raises ``SubscriptionLost``. The
consumer must then resynchronise from the store (re-read the log after the last seq it
saw) and subscribe again. Subscribe *before* reading the log so nothing falls between.
A ``RedisBus`` also marks every subscription lost if its pub/sub connection drops
(messages may have been missed meanwhile); the next subscription opens a new one.
Publishing uses a separate connection pool with redis-py's usual retries, and raises
``redis.RedisError`` if Redis stays unreachable (the log, not the bus, is the record).

Exceptions::

    BusError
    ├── SubscriptionLost     the subscriber fell behind or the link dropped: resync
    └── BusClosed            publish/subscribe on a closed bus

Usage::

    async with bus.subscribe(hearing_id) as sub:
        async for message in sub:      # dict; ends when the bus is closed
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Coroutine, Mapping
from types import TracebackType
from typing import Any, Protocol, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "Bus",
    "BusClosed",
    "BusError",
    "InProcessBus",
    "RedisBus",
    "Subscription",
    "SubscriptionLost",
    "open_bus",
]

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1024
REDIS_CHANNEL_PREFIX = "courtroom:"
SUBSCRIBE_TIMEOUT_S = 10.0
T = TypeVar("T")


class BusError(Exception):
    """Base class of bus errors."""


class SubscriptionLost(BusError):
    """Messages were dropped for this subscription: resynchronise from the store."""

    def __init__(self, topic: str) -> None:
        super().__init__(f"subscription to {topic!r} lost messages; resync from the store")
        self.topic = topic


class BusClosed(BusError):
    """The bus was closed."""


class Subscription:
    """One subscriber's view of a topic. Use as ``async with``, then ``async for``.

    Messages are buffered as encoded JSON and decoded when taken, so every subscriber
    gets its own copy and a slow one costs publishers nothing but an append.
    """

    def __init__(self, bus: _FanoutBus, topic: str, queue_size: int) -> None:
        self.topic = topic
        self._bus = bus
        self._queue_size = queue_size
        self._buffer: deque[str | bytes] = deque()
        self._wakeup = asyncio.Event()
        self._attached = False
        self._closed = False
        self._lost = False

    @property
    def lost(self) -> bool:
        return self._lost

    async def __aenter__(self) -> Subscription:
        if self._attached or self._closed:
            raise RuntimeError("a Subscription can be entered once")
        await self._bus._attach(self)
        self._attached = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        self._buffer.clear()
        self._wakeup.set()
        await self._bus._detach(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if not self._attached:
            raise RuntimeError("enter the subscription (async with) before iterating")
        while True:
            if self._lost:
                raise SubscriptionLost(self.topic)
            if self._buffer:
                message: dict[str, Any] = json.loads(self._buffer.popleft())
                return message
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    def _deliver(self, data: str | bytes) -> None:
        if self._closed or self._lost:
            return
        if len(self._buffer) >= self._queue_size:
            self._mark_lost()
            return
        self._buffer.append(data)
        self._wakeup.set()

    def _mark_lost(self) -> None:
        if self._lost or self._closed:
            return
        self._lost = True
        self._buffer.clear()
        self._wakeup.set()
        self._bus._forget(self)

    def _end(self) -> None:
        """The bus closed: iteration ends after what is buffered."""
        self._closed = True
        self._wakeup.set()


class Bus(Protocol):
    async def publish(self, topic: str, message: Mapping[str, Any]) -> None: ...

    def subscribe(self, topic: str) -> Subscription: ...

    async def close(self) -> None: ...


class _FanoutBus:
    """Local topic -> subscriptions registry shared by both buses."""

    def __init__(self, *, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        self._queue_size = queue_size
        self._topics: dict[str, set[Subscription]] = {}
        self._closed = False

    def subscribe(self, topic: str) -> Subscription:
        """A subscription to ``topic``; it starts receiving when entered."""
        if not topic:
            raise ValueError("topic must be a non-empty string")
        return Subscription(self, topic, self._queue_size)

    def subscriber_count(self, topic: str) -> int:
        """Subscriptions to ``topic`` attached on this node."""
        return len(self._topics.get(topic, ()))

    def _fanout(self, topic: str, data: str | bytes) -> None:
        # Copy: a subscriber marked lost removes itself from the set while we iterate.
        for sub in list(self._topics.get(topic, ())):
            sub._deliver(data)

    def _add(self, sub: Subscription) -> bool:
        """Register ``sub``; True if it is the topic's first local subscriber."""
        if self._closed:
            raise BusClosed("bus is closed")
        subs = self._topics.setdefault(sub.topic, set())
        subs.add(sub)
        return len(subs) == 1

    def _remove(self, sub: Subscription) -> bool:
        """Unregister ``sub``; True if the topic has no local subscriber left."""
        subs = self._topics.get(sub.topic)
        if subs is None or sub not in subs:
            return False
        subs.discard(sub)
        if not subs:
            del self._topics[sub.topic]
            return True
        return False

    def _end_all(self) -> None:
        for subs in list(self._topics.values()):
            for sub in list(subs):
                sub._end()
        self._topics.clear()

    def _lose_all(self) -> None:
        for subs in list(self._topics.values()):
            for sub in list(subs):
                sub._mark_lost()

    async def _attach(self, sub: Subscription) -> None:
        self._add(sub)

    async def _detach(self, sub: Subscription) -> None:
        self._remove(sub)

    def _forget(self, sub: Subscription) -> None:
        """Called synchronously when ``sub`` is lost."""
        self._remove(sub)


def _encode(message: Mapping[str, Any]) -> str:
    if not isinstance(message, Mapping):
        raise ValueError("a bus message must be a JSON object")
    try:
        return json.dumps(dict(message), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a bus message must be JSON ({type(exc).__name__})") from exc


class InProcessBus(_FanoutBus):
    """Delivers within this process: for a single node."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        super().__init__(queue_size=queue_size)

    async def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        if self._closed:
            raise BusClosed("bus is closed")
        self._fanout(topic, _encode(message))

    async def close(self) -> None:
        self._closed = True
        self._end_all()


class RedisBus(_FanoutBus):
    """Redis pub/sub: every node's subscribers get every node's messages.

    One pub/sub connection per bus; a Redis channel is subscribed while at least one
    local subscription to its topic is attached, and entering a subscription returns
    only once Redis has confirmed it, so nothing published afterwards is missed.
    """

    def __init__(self, url: str, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        super().__init__(queue_size=queue_size)
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url)
        # Pub/sub gets its own client that never reconnects silently: a dropped link may
        # have lost messages, so it must surface (subscriptions lost, consumers resync).
        self._sub_client: aioredis.Redis = aioredis.Redis.from_url(url, retry=Retry(NoBackoff(), 0))
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._confirmations: dict[bytes, deque[asyncio.Future[None]]] = {}
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    @staticmethod
    def _channel(topic: str) -> str:
        return REDIS_CHANNEL_PREFIX + topic

    async def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        if self._closed:
            raise BusClosed("bus is closed")
        await _keeping_cancellation(self._redis.publish(self._channel(topic), _encode(message)))

    async def _attach(self, sub: Subscription) -> None:
        async with self._lock:
            if not self._add(sub):
                return
            try:
                await self._subscribe_channel(self._channel(sub.topic))
            except BaseException:
                # Cancelled or failed: Redis may have subscribed all the same; let it go.
                if self._remove(sub) and not self._closed:
                    self._in_background(self._unsubscribe_if_unused(sub.topic))
                raise

    async def _detach(self, sub: Subscription) -> None:
        if self._remove(sub):
            await self._unsubscribe_if_unused(sub.topic)

    def _forget(self, sub: Subscription) -> None:
        if self._remove(sub) and not self._closed:
            self._in_background(self._unsubscribe_if_unused(sub.topic))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _unsubscribe_if_unused(self, topic: str) -> None:
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is None or self._closed or self.subscriber_count(topic):
                return
            try:
                await _keeping_cancellation(pubsub.unsubscribe(self._channel(topic)))
            except (aioredis.RedisError, OSError):
                # The reader notices the broken link and marks everything lost.
                logger.warning("redis unsubscribe failed", exc_info=True)

    async def _subscribe_channel(self, channel: str) -> None:
        if self._pubsub is None:
            self._pubsub = self._sub_client.pubsub()
        pubsub = self._pubsub
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = channel.encode()
        waiting = self._confirmations.setdefault(key, deque())
        waiting.append(confirmed)
        try:
            await _keeping_cancellation(pubsub.subscribe(channel))
            if self._reader is None:
                self._reader = asyncio.get_running_loop().create_task(self._read(pubsub))
            # asyncio.timeout, not wait_for: wait_for swallows a cancellation on 3.11.
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                await asyncio.shield(confirmed)
        except TimeoutError as exc:
            raise BusError("redis did not confirm the subscription") from exc
        finally:
            # A failed attempt must not consume a later attempt's confirmation.
            if not confirmed.done() and confirmed in waiting:
                waiting.remove(confirmed)
                confirmed.cancel()

    async def _read(self, pubsub: PubSub) -> None:
        prefix = REDIS_CHANNEL_PREFIX.encode()
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                kind = message["type"]
                channel: bytes = message["channel"]
                if kind == "message" and channel.startswith(prefix):
                    self._fanout(channel[len(prefix) :].decode(), message["data"])
                elif kind == "subscribe":
                    waiting = self._confirmations.get(channel)
                    if waiting:
                        future = waiting.popleft()
                        if not waiting:
                            del self._confirmations[channel]
                        if not future.done():
                            future.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception:
            if not self._closed:
                logger.warning("redis pub/sub link lost; subscribers must resync", exc_info=True)
                self._link_lost(pubsub)

    def _link_lost(self, pubsub: PubSub) -> None:
        if self._pubsub is pubsub:
            self._pubsub = None
            self._reader = None
        for waiting in self._confirmations.values():
            for future in waiting:
                if not future.done():
                    future.set_exception(BusError("redis pub/sub link lost"))
        self._confirmations.clear()
        self._lose_all()
        task = asyncio.get_running_loop().create_task(_close_pubsub(pubsub))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._end_all()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._pubsub is not None:
            await _close_pubsub(self._pubsub)
            self._pubsub = None
        await self._redis.aclose()
        await self._sub_client.aclose()


async def _keeping_cancellation(call: Awaitable[T]) -> T:
    """Await a redis-py call without losing a cancellation of the calling task.

    redis-py wraps socket writes in ``asyncio.wait_for`` (``socket_timeout``), which on
    Python 3.11 swallows a cancellation that arrives as the write completes (gh-86296): the
    cancelled task then ran on, e.g. a subscriber whose client had gone stayed subscribed and
    its hearing task waited ~10 s for the next timeout. The task still counts the request
    (``Task.cancelling()``), so it is raised here.
    """
    task = asyncio.current_task()
    before = task.cancelling() if task is not None else 0
    result = await call
    if task is not None and task.cancelling() > before:
        raise asyncio.CancelledError
    return result


async def _close_pubsub(pubsub: PubSub) -> None:
    await pubsub.aclose()  # type: ignore[no-untyped-call]


def open_bus(url: str | None, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> Bus:
    """``None`` (or ``memory://``) -> InProcessBus; ``redis://``/``rediss://``/``unix://``
    -> RedisBus."""
    if not url or url.startswith("memory:"):
        return InProcessBus(queue_size=queue_size)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBus(url, queue_size=queue_size)
    raise ValueError("unsupported bus URL scheme (expected redis://, rediss:// or unix://)")
