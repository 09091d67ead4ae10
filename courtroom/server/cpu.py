"""Where the server's CPU goes, by component: forwarding, recording, ASR, vision, signalling/log.

Two sources, both cheap:

* **Threads** (Linux ``/proc/self/task/<tid>/stat``): a Python thread's CPU goes to the
  component its name says (``asr_*`` decoder pool and ``tap-audio`` decoders: ASR; ``vision_*``
  pool and ``tap-video`` decoders: vision; asyncio's default executor ``asyncio_*``, where log
  appends and reads run: signalling/log). The event-loop thread's CPU goes to forwarding
  (aiortc's RTP/SRTP path, the hub) unless a section below claims it. Threads that are not
  Python threads (e.g. native library pools) and threads that ended before they were seen are
  ``other`` (process CPU minus every thread seen).
* **Sections** (``time.thread_time``): work of one component running on a thread that belongs
  to another, e.g. the hearing websocket's coroutines (signalling/log) or a recording write
  (recording) on the event loop. :func:`timed` wraps a coroutine so that every step of it is
  a section; :func:`section` wraps a plain call. Sections nest: an inner section's time is
  taken out of the outer one, so nothing counts twice.
* **Child processes** that work for a component (the vision checkers, vision/child.py): their
  CPU is read from ``/proc/<pid>/stat`` while they run and taken from ``wait4`` once reaped,
  and added both to their component and to ``process_s`` (``children_s`` says how much). Without
  it, moving work into a child would look like a saving.

``GET /api/v1/metrics`` reports the cumulative seconds per component (:func:`snapshot`); a
client takes two snapshots and divides the differences by the wall time between them.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

SIGNALLING = "signalling_log"
COMPONENTS = ("forwarding", "recording", "asr", "vision", "signalling_log", "other")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_BY_NAME = (
    ("asr", "asr"),
    ("tap-audio", "asr"),
    ("vision", "vision"),
    ("tap-video", "vision"),
    ("asyncio_", "signalling_log"),
)

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class _Frame:
    component: str
    start: float
    child: float = 0.0


class CpuAccounts:
    """Per-thread section totals; one instance per process (:data:`ACCOUNTS`)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        # native thread id -> component -> seconds of sections run on that thread
        self.sections: dict[int, dict[str, float]] = {}
        self.loop_thread: int | None = None
        self._last: dict[int, tuple[str, float, dict[str, float]]] = {}
        self._retired: dict[str, float] = dict.fromkeys(COMPONENTS, 0.0)
        self._children: dict[int, str] = {}  # live child pid -> component
        self._children_retired: dict[str, float] = {}

    def child_cpu(self, component: str) -> Callable[[int, float | None], None]:
        """A callback for a child process working for ``component``: ``(pid, None)`` when it
        starts, ``(pid, cpu_s)`` once it was reaped (its whole CPU, from ``wait4``)."""

        def seen(pid: int, cpu_s: float | None) -> None:
            with self._lock:
                if cpu_s is None:
                    self._children[pid] = component
                elif self._children.pop(pid, None) is not None:
                    self._children_retired[component] = (
                        self._children_retired.get(component, 0.0) + cpu_s
                    )

        return seen

    def _children_cpu(self) -> dict[str, float]:
        with self._lock:
            out = dict(self._children_retired)
            live = list(self._children.items())
        for pid, component in live:
            cpu = _thread_cpu(pid, f"/proc/{pid}/stat")
            out[component] = out.get(component, 0.0) + (cpu or 0.0)
        return out

    def set_loop_thread(self) -> None:
        """Call on the event loop: its thread's unclaimed CPU is forwarding."""
        self.loop_thread = threading.get_native_id()

    def enter(self, component: str) -> None:
        stack: list[_Frame] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        stack.append(_Frame(component, time.thread_time()))

    def exit(self) -> None:
        stack: list[_Frame] = self._local.stack
        frame = stack.pop()
        elapsed = time.thread_time() - frame.start
        if stack:
            stack[-1].child += elapsed
        tid = threading.get_native_id()
        mine = self.sections.get(tid)
        if mine is None:
            with self._lock:
                mine = self.sections.setdefault(tid, {})
        mine[frame.component] = mine.get(frame.component, 0.0) + elapsed - frame.child

    def snapshot(self) -> dict[str, Any]:
        """Cumulative CPU seconds per component since the process started."""
        names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
        live: dict[int, tuple[str, float, dict[str, float]]] = {}
        for tid in _task_ids():
            cpu = _thread_cpu(tid)
            owner = self._owner(tid, names.get(tid))
            if cpu is not None and owner is not None:  # else not a Python thread: "other"
                live[tid] = (owner, cpu, dict(self.sections.get(tid, {})))
        for tid in [t for t in self._last if t not in live]:  # ended: keep what it used
            self._add(self._retired, *self._last.pop(tid))
            self.sections.pop(tid, None)
        self._last.update(live)
        totals = dict(self._retired)
        for owner, cpu, claimed in live.values():
            self._add(totals, owner, cpu, claimed)
        process = _process_cpu()
        totals["other"] += max(0.0, process - sum(totals.values()))
        children = self._children_cpu()
        for comp, s in children.items():
            totals[comp] = totals.get(comp, 0.0) + s
        return {
            "process_s": round(process + sum(children.values()), 3),
            "children_s": round(sum(children.values()), 3),
            "components_s": {k: round(v, 3) for k, v in totals.items()},
            "threads": len(names),
        }

    @staticmethod
    def _add(into: dict[str, float], owner: str, cpu: float, claimed: dict[str, float]) -> None:
        for comp, s in claimed.items():
            into[comp] = into.get(comp, 0.0) + s
        into[owner] = into.get(owner, 0.0) + max(0.0, cpu - sum(claimed.values()))

    def _owner(self, tid: int, name: str | None) -> str | None:
        if tid == self.loop_thread:
            return "forwarding"
        if name is None:
            return None
        for prefix, comp in _BY_NAME:
            if name.startswith(prefix):
                return comp
        return "other"


ACCOUNTS = CpuAccounts()


class _Stepper:
    """Drives a coroutine, each step a section of ``component``."""

    def __init__(self, coro: Coroutine[Any, Any, T], component: str) -> None:
        self._coro = coro
        self._component = component

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, comp = self._coro, self._component
        value: Any = None
        error: BaseException | None = None
        while True:
            ACCOUNTS.enter(comp)
            try:
                yielded = coro.throw(error) if error is not None else coro.send(value)
            except StopIteration as stop:
                return stop.value
            finally:
                ACCOUNTS.exit()
            try:
                value, error = (yield yielded), None
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                value, error = None, exc


async def timed(coro: Coroutine[Any, Any, T], component: str) -> T:
    """``await timed(work(), "asr")``: the coroutine's own steps count for ``component``
    (tasks it starts do not)."""
    result: T = await _Stepper(coro, component)
    return result


def section(component: str, fn: Callable[P, T]) -> Callable[P, T]:
    """``fn`` with its CPU time counted for ``component`` on whatever thread runs it."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        ACCOUNTS.enter(component)
        try:
            return fn(*args, **kwargs)
        finally:
            ACCOUNTS.exit()

    return run


def account_method(cls: type, name: str, component: str) -> None:
    """Count ``cls.name`` for ``component`` (e.g. the recorder's per-frame write, which runs
    inside forwarding on the event loop). Idempotent."""
    fn = getattr(cls, name)
    if getattr(fn, "__courtroom_cpu__", None) == component:
        return
    wrapped: Any = section(component, fn)
    wrapped.__courtroom_cpu__ = component
    setattr(cls, name, wrapped)


def install() -> None:
    """On the event loop at start-up: mark the loop thread; recording writes are sections."""
    from media.recording import TrackRecorder

    ACCOUNTS.set_loop_thread()
    account_method(TrackRecorder, "offer", "recording")


def _task_ids() -> list[int]:
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return []


def _thread_cpu(tid: int, path: str | None = None) -> float | None:
    try:
        with open(path or f"/proc/self/task/{tid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


def _process_cpu() -> float:
    t = os.times()
    return t.user + t.system
