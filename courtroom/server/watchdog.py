"""Says in the log when the event loop stops turning, and where it was.

Every hearing's media, messages and commands share one event loop; anything that holds it
(a synchronous call that should have gone to a thread, a lock another thread holds) stalls all
of them at once, and from outside that only looks like "nothing arrived". A daemon thread
checks the loop monitor's heartbeat four times a second. When the loop has not ticked for
``STALL_S``, it logs once what the loop thread is running (the innermost frames of its
Python stack: file, line and function; no values), and when the loop turns again, how long
the stall lasted. A loop that is merely starved of CPU shows up too, with whatever it was
doing when the check looked.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable

log = logging.getLogger(__name__)

STALL_S = 1.0  # no tick for this long: a stall worth a log line
CHECK_EVERY_S = 0.25
FRAMES = 8  # innermost frames of the loop thread's stack in the log line


class LoopWatchdog:
    def __init__(self, last_tick: Callable[[], float], loop_thread: int, *,
                 stall_s: float = STALL_S) -> None:
        self._last_tick = last_tick  # time.monotonic() of the loop monitor's latest tick
        self._loop_thread = loop_thread
        self._stall_s = stall_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loop-watchdog", daemon=True)
        self.stalls = 0  # stalls seen (the tests read it)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        stalled_since: float | None = None
        while not self._stop.wait(CHECK_EVERY_S):
            tick = self._last_tick()
            quiet = time.monotonic() - tick
            if quiet >= self._stall_s and stalled_since is None:
                stalled_since = tick
                self.stalls += 1
                log.warning("event loop stalled %.1f s so far, in: %s", quiet, self._where())
            elif quiet < self._stall_s and stalled_since is not None:
                log.warning("event loop turned again after %.1f s", tick - stalled_since)
                stalled_since = None

    def _where(self) -> str:
        frame = sys._current_frames().get(self._loop_thread)
        if frame is None:
            return "(no stack)"
        stack = traceback.extract_stack(frame)[-FRAMES:]
        return " <- ".join(
            f"{_short(f.filename)}:{f.lineno} {f.name}" for f in reversed(stack)
        )


def _short(path: str) -> str:
    """The path from the package or site-packages on: enough to find the line, no more."""
    for marker in ("site-packages/", "courtroom/", "media/", "asr/"):
        at = path.rfind(marker)
        if at >= 0:
            return path[at:]
    return path.rsplit("/", 1)[-1]
