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


def test_a_child_process_counts_for_its_component_alive_and_after_it_ended() -> None:
    """Work moved into a child process (the vision checkers) must not look like a saving: its
    CPU is read while it runs and taken from ``wait4`` to the last tick once reaped."""
    import os
    import subprocess
    import sys

    code = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n"
    code += "import sys; sys.stdin.read()"  # then wait, alive, until stdin closes
    before = cpu.ACCOUNTS.snapshot()
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    seen = cpu.ACCOUNTS.child_cpu("asr")
    seen(child.pid, None)
    deadline = time.monotonic() + 30
    while True:  # the burn counts while the child is alive
        now = cpu.ACCOUNTS.snapshot()
        alive = _delta(before["components_s"], now["components_s"])["asr"]
        if alive >= 0.55 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert 0.55 <= alive <= 1.5, alive
    assert now["children_s"] - before["children_s"] >= 0.55
    assert now["process_s"] - before["process_s"] >= 0.55
    assert child.stdin is not None
    child.stdin.close()
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    seen(child.pid, usage.ru_utime + usage.ru_stime)
    after = cpu.ACCOUNTS.snapshot()
    ended = _delta(before["components_s"], after["components_s"])["asr"]
    assert ended >= alive - 0.02  # kept after it ended, not lost with the pid
    assert abs(ended - (usage.ru_utime + usage.ru_stime)) < 0.02
    seen(child.pid, 5.0)  # a second report of the same pid counts nothing
    assert cpu.ACCOUNTS.snapshot()["components_s"]["asr"] == after["components_s"]["asr"]
