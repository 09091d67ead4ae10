"""Per-component CPU accounting: sections, coroutine steps, threads by name."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from courtroom.server import cpu


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after}


async def test_coroutine_steps_and_nested_sections_count_once() -> None:
    cpu.ACCOUNTS.set_loop_thread()
    before = cpu.ACCOUNTS.snapshot()["components_s"]

    async def work() -> int:
        _burn(0.15)
        await asyncio.sleep(0)
        cpu.section("recording", _burn)(0.1)  # nested: taken out of the outer section
        return 7

    assert await cpu.timed(work(), "signalling_log") == 7
    d = _delta(before, cpu.ACCOUNTS.snapshot()["components_s"])
    assert 0.12 <= d["signalling_log"] <= 0.22
    assert 0.08 <= d["recording"] <= 0.15


async def test_cancellation_passes_through_a_timed_coroutine() -> None:
    started = asyncio.Event()

    async def waits() -> None:
        started.set()
        await asyncio.sleep(10)

    task = asyncio.create_task(cpu.timed(waits(), "asr"))
    await started.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()


def test_threads_count_for_the_component_their_name_says() -> None:
    before = cpu.ACCOUNTS.snapshot()["components_s"]
    done = threading.Event()

    def run() -> None:
        _burn(0.2)
        done.set()
        time.sleep(0.5)

    t = threading.Thread(target=run, name="vision_7")
    t.start()
    done.wait()
    mid = cpu.ACCOUNTS.snapshot()["components_s"]
    t.join()
    after = cpu.ACCOUNTS.snapshot()  # the thread has ended: what it used is kept
    assert _delta(before, mid)["vision"] >= 0.15
    assert _delta(before, after["components_s"])["vision"] >= 0.15
    assert after["process_s"] >= sum(after["components_s"].values()) - 0.05
