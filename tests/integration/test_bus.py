"""InProcessBus and RedisBus (a real redis-server) pass the same behavioural tests.

For Redis, each bus made by ``make_bus`` is a separate node with its own connections.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from courtroom.bus import (
    Bus,
    BusClosed,
    InProcessBus,
    RedisBus,
    Subscription,
    SubscriptionLost,
    open_bus,
)

WAIT_S = 5.0

MakeBus = Callable[..., InProcessBus | RedisBus]


@pytest.fixture(params=["memory", "redis"])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[MakeBus]:
    buses: list[InProcessBus | RedisBus] = []
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None

    def make(*, queue_size: int = 1024) -> InProcessBus | RedisBus:
        if url is None:
            if buses:  # one process has one in-process bus
                return buses[0]
            bus: InProcessBus | RedisBus = InProcessBus(queue_size=queue_size)
        else:
            bus = RedisBus(url, queue_size=queue_size)
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.close()


async def next_message(sub: Subscription) -> dict[str, Any]:
    async with asyncio.timeout(WAIT_S):
        return await anext(sub)


async def eventually(condition: Callable[[], bool | Awaitable[bool]]) -> None:
    async with asyncio.timeout(WAIT_S):
        while True:
            result = condition()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(0.01)


async def test_fan_out_to_every_subscriber(make_bus: MakeBus) -> None:
    bus = make_bus()
    async with bus.subscribe("h1") as a, bus.subscribe("h1") as b, bus.subscribe("h1") as c:
        assert bus.subscriber_count("h1") == 3
        await bus.publish("h1", {"seq": 1, "text": "开庭"})
        for sub in (a, b, c):
            assert await next_message(sub) == {"seq": 1, "text": "开庭"}


async def test_each_subscriber_gets_its_own_copy(make_bus: MakeBus) -> None:
    bus = make_bus()
    async with bus.subscribe("h1") as a, bus.subscribe("h1") as b:
        await bus.publish("h1", {"list": [1]})
        (await next_message(a))["list"].append(2)
        assert await next_message(b) == {"list": [1]}


async def test_topics_are_isolated(make_bus: MakeBus) -> None:
    bus = make_bus()
    async with bus.subscribe("hearing-a") as a, bus.subscribe("hearing-b") as b:
        for i in range(5):
            await bus.publish("hearing-a", {"i": i})
        await bus.publish("hearing-b", {"marker": True})
        assert await next_message(b) == {"marker": True}  # none of hearing-a's came first
        assert [await next_message(a) for _ in range(5)] == [{"i": i} for i in range(5)]
        await bus.publish("hearing-a", {"last": True})
        await bus.publish("hearing-b", {"marker": 2})
        assert await next_message(b) == {"marker": 2}


async def test_order_is_kept_per_publisher(make_bus: MakeBus) -> None:
    bus = make_bus()
    async with bus.subscribe("h1") as sub:
        for i in range(300):
            await bus.publish("h1", {"seq": i})
        assert [(await next_message(sub))["seq"] for _ in range(300)] == list(range(300))


async def test_leaving_the_context_unsubscribes(make_bus: MakeBus) -> None:
    bus = make_bus()
    async with bus.subscribe("h1") as kept:
        async with bus.subscribe("h1") as sub:
            assert bus.subscriber_count("h1") == 2
        assert bus.subscriber_count("h1") == 1
        await bus.publish("h1", {"n": 1})
        assert await next_message(kept) == {"n": 1}
        with pytest.raises(StopAsyncIteration):  # an exited subscription yields nothing
            await next_message(sub)
    assert bus.subscriber_count("h1") == 0


async def test_slow_subscriber_is_lost_without_blocking_others(make_bus: MakeBus) -> None:
    bus = make_bus(queue_size=4)
    received: list[dict[str, Any]] = []
    async with bus.subscribe("h1") as fast, bus.subscribe("h1") as slow:

        async def consume() -> None:
            async for message in fast:
                received.append(message)

        consumer = asyncio.create_task(consume())
        try:
            for i in range(10):
                async with asyncio.timeout(WAIT_S):  # publishing never waits on `slow`
                    await bus.publish("h1", {"i": i})
                await eventually(functools.partial(_has_length, received, i + 1))
        finally:
            consumer.cancel()
        assert received == [{"i": i} for i in range(10)]
        await eventually(lambda: slow.lost)
        assert not fast.lost
        with pytest.raises(SubscriptionLost) as info:
            await next_message(slow)
        assert info.value.topic == "h1"
        assert bus.subscriber_count("h1") == 1  # the lost one is detached at once
        # The consumer resyncs from the store, then subscribes again.
        async with bus.subscribe("h1") as again:
            await bus.publish("h1", {"i": 10})
            assert await next_message(again) == {"i": 10}


async def test_close_ends_iteration(make_bus: MakeBus) -> None:
    bus = make_bus()
    seen: list[dict[str, Any]] = []
    async with bus.subscribe("h1") as sub:

        async def consume() -> None:
            async for message in sub:
                seen.append(message)

        consumer = asyncio.create_task(consume())
        await bus.publish("h1", {"n": 1})
        await eventually(lambda: len(seen) == 1)
        await bus.close()
        async with asyncio.timeout(WAIT_S):
            await consumer
    with pytest.raises(BusClosed):
        await bus.publish("h1", {"n": 2})
    with pytest.raises(BusClosed):
        async with bus.subscribe("h1"):
            pass


async def test_rejects_messages_that_are_not_json_objects(make_bus: MakeBus) -> None:
    bus = make_bus()
    with pytest.raises(ValueError):
        await bus.publish("h1", {"bad": object()})
    with pytest.raises(ValueError):
        await bus.publish("h1", {"nan": float("nan")})
    with pytest.raises(ValueError):
        await bus.publish("h1", ["not", "an", "object"])  # type: ignore[arg-type]


# --- Redis only ---------------------------------------------------------------------


async def test_two_redis_nodes_see_each_others_messages(redis_url: str) -> None:
    node1, node2 = RedisBus(redis_url), RedisBus(redis_url)
    try:
        async with node1.subscribe("h1") as on1, node2.subscribe("h1") as on2:
            await node1.publish("h1", {"from": 1})
            await node2.publish("h1", {"from": 2})
            for sub in (on1, on2):
                assert {(await next_message(sub))["from"] for _ in range(2)} == {1, 2}
            for i in range(50):
                await node2.publish("h1", {"i": i})
            assert [(await next_message(on1))["i"] for _ in range(50)] == list(range(50))
    finally:
        await node1.close()
        await node2.close()


async def test_redis_channel_is_released_when_last_local_subscriber_leaves(
    redis_url: str,
) -> None:
    bus = RedisBus(redis_url)
    admin = aioredis.Redis.from_url(redis_url)

    async def numsub() -> int:
        ((_, count),) = await admin.pubsub_numsub("courtroom:release")
        return int(count)

    try:
        async with bus.subscribe("release"), bus.subscribe("release"):
            assert await numsub() == 1  # one Redis subscription per node, fanned out locally
        await eventually(lambda: _is(numsub(), 0))
    finally:
        await bus.close()
        await admin.aclose()


def _has_length(items: list[Any], n: int) -> bool:
    return len(items) == n


async def _is(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_dropped_redis_link_marks_subscriptions_lost(redis_url: str) -> None:
    bus = RedisBus(redis_url)
    admin = aioredis.Redis.from_url(redis_url)
    try:
        async with bus.subscribe("h1") as sub:
            await admin.client_kill_filter(_type="pubsub")
            await eventually(lambda: sub.lost)
            with pytest.raises(SubscriptionLost):
                await next_message(sub)
        async with bus.subscribe("h1") as again:  # the bus recovers for new subscribers
            await admin.publish("courtroom:h1", '{"after":true}')
            assert await next_message(again) == {"after": True}
    finally:
        await bus.close()
        await admin.aclose()


async def test_open_bus(redis_url: str) -> None:
    buses: list[Bus] = [open_bus(None), open_bus("memory://"), open_bus(redis_url)]
    assert isinstance(buses[0], InProcessBus) and isinstance(buses[1], InProcessBus)
    assert isinstance(buses[2], RedisBus)
    for bus in buses:
        await bus.close()
    with pytest.raises(ValueError):
        open_bus("kafka://127.0.0.1:9092")


async def test_a_subscriber_cancelled_while_subscribing_stops_at_once(redis_url: str) -> None:
    """A cancellation landing in redis-py's socket write (wrapped in asyncio.wait_for, which
    swallows it on Python 3.11) used to be lost: the task entered the subscription and ran
    on, here for 30 s. It must end as soon as it is cancelled, and leave no channel behind."""
    bus = RedisBus(redis_url)
    admin = aioredis.Redis.from_url(redis_url)
    entered: list[str] = []

    async def subscriber(topic: str) -> None:
        async with bus.subscribe(topic):
            entered.append(topic)
            await asyncio.sleep(30)

    async def numsub(channel: str) -> int:
        ((_, count),) = await admin.pubsub_numsub(channel)
        return int(count)

    try:
        async with bus.subscribe("keep-the-link-open"):
            for i in range(20):  # cancel at each point of the subscription in turn
                task = asyncio.create_task(subscriber(f"cancel-{i}"))
                for _ in range(i % 5):
                    await asyncio.sleep(0)
                task.cancel()
                async with asyncio.timeout(WAIT_S):  # stalled, it would sleep 30 s
                    with pytest.raises(asyncio.CancelledError):
                        await task
            assert entered == [], entered  # no cancelled subscriber ran on
            for i in range(20):
                await eventually(lambda i=i: _is(numsub(f"courtroom:cancel-{i}"), 0))
            # and the bus still works
            async with bus.subscribe("after") as sub:
                await bus.publish("after", {"ok": True})
                assert await next_message(sub) == {"ok": True}
    finally:
        await bus.close()
        await admin.aclose()
