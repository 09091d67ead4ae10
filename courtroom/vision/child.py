"""A vision checker in a child process, so that dlib never holds the server's GIL.

Why a process: dlib's face encoder (``face_recognition.face_encodings``) keeps the GIL for the
whole call, 100-160 ms per face, so in a worker *thread* it stalls the event loop, and with it
every RTP packet, websocket message and caption of every hearing (measured with a loop-lag probe:
the loop waits as long as the encoding runs; docs/vision.md, "Worker"). HOG, onnxruntime,
mediapipe, vosk and PyAV release it.

One :class:`VisionChild` is one child (``python -m courtroom.vision.child``) that builds its
own ``FrameChecker`` once, from a picklable ``CheckerConfig``, and then checks one frame at a
time. Frames travel through a memfd mapped by both sides (640x360 RGB is 0.7 MB: a copy, no
pickling); the request and the observation, a few hundred bytes, are pickled over a socketpair.

The child ends by itself when the server goes: its socket reads EOF (even after a SIGKILL of the
server) and it exits, so no child outlives the server. The parent reaps each child with
``wait4`` so that its CPU, to the last tick, is counted under ``vision`` (server/cpu.py).
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from courtroom.vision import faces as fr
    from courtroom.vision.checks import Check, FrameChecker, FrameObservation
    from courtroom.vision.detector import RGBImage
    from courtroom.vision.worker import CheckerConfig

log = logging.getLogger(__name__)

# Room for a 1080p RGB frame; the memfd is sparse, so only the pages a frame touches use RAM.
# A bigger frame is sent inline (pickled), which is slower but still right.
BUFFER_BYTES = 1920 * 1080 * 3
LOAD_TIMEOUT_S = 180.0  # loading dlib + YOLOX + mediapipe: 2-5 s quiet, much more under load
CHECK_TIMEOUT_S = 60.0  # a check that takes this long is a hung child: killed and restarted


class ChildDied(RuntimeError):
    """The child ended (crash, kill, OOM) or hung: the frame it held was not checked."""


class ChildFailed(RuntimeError):
    """The child could not build its checker (models missing or broken)."""


class VisionChild:
    """One checking process. Not thread-safe: one caller at a time (the worker's slot queue)."""

    def __init__(
        self, config: CheckerConfig, *, on_cpu: Callable[[int, float | None], None] | None = None
    ) -> None:
        self.config = config
        self.restarts = 0
        self.model_versions: dict[str, str] = {}
        self._on_cpu = on_cpu  # (pid, seconds | None): the CPU accounting of server/cpu.py
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._buf: mmap.mmap | None = None
        self.start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the child and wait until its models are loaded (raises ChildFailed)."""
        memfd = os.memfd_create("courtroom-vision-frame")
        os.ftruncate(memfd, BUFFER_BYTES)
        mine, theirs = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "courtroom.vision.child", str(theirs.fileno()), str(memfd)],
                pass_fds=(theirs.fileno(), memfd),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
            self._buf = mmap.mmap(memfd, BUFFER_BYTES)
        finally:
            theirs.close()
            os.close(memfd)
        self._conn = Connection(mine.detach())
        if self._on_cpu is not None:
            self._on_cpu(self._proc.pid, None)
        self._conn.send(("config", self.config))
        reply = self._reply(LOAD_TIMEOUT_S)
        if reply[0] != "ready":
            self._reap(kill=True)
            raise ChildFailed(str(reply[1]))
        self.model_versions = dict(reply[1])

    def observe(
        self,
        t: float,
        rgb: RGBImage,
        reference: fr.Encoding | None,
        checks: frozenset[Check] | None,
    ) -> FrameObservation:
        if self._conn is None or self._buf is None:
            raise ChildDied("no child running")
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        inline = None
        if rgb.nbytes <= BUFFER_BYTES:
            shared = np.ndarray(rgb.shape, np.uint8, buffer=self._buf)
            shared[...] = rgb
            del shared  # no view may outlive the copy: the map is closed on restart
        else:
            inline = rgb.tobytes()
        try:
            self._conn.send(("check", t, rgb.shape, inline, reference, checks))
        except OSError as exc:  # it died while idle
            raise ChildDied(self._exit_reason()) from exc
        reply = self._reply(CHECK_TIMEOUT_S)
        if reply[0] == "error":
            raise RuntimeError(f"vision child: {reply[1]}")
        obs: FrameObservation = reply[1]
        return obs

    def enroll(self, photo: bytes) -> fr.Encoding:
        """The reference encoding of an ID photo (raises ``EnrolmentError`` with the reason)."""
        from courtroom.vision.identity import EnrolmentError

        if self._conn is None:
            raise ChildDied("no child running")
        try:
            self._conn.send(("enroll", photo))
        except OSError as exc:
            raise ChildDied(self._exit_reason()) from exc
        kind, value = self._reply(CHECK_TIMEOUT_S)
        if kind == "refused":
            raise EnrolmentError(str(value))
        encoding: fr.Encoding = value
        return encoding

    def _reply(self, timeout: float) -> tuple[str, Any]:
        assert self._conn is not None
        try:
            if not self._conn.poll(timeout):
                raise ChildDied(f"no answer in {timeout:g} s")
            reply: tuple[str, Any] = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise ChildDied(self._exit_reason()) from exc
        return reply

    def _exit_reason(self) -> str:
        # The socket reads EOF a moment before the kernel marks the child exited.
        deadline = time.monotonic() + 1.0
        info = None
        while self._proc is not None and time.monotonic() < deadline:
            if (info := _exited(self._proc)) is not None:
                break
            time.sleep(0.01)
        if info is None:
            return "the child closed its socket"
        if info.si_code in (os.CLD_KILLED, os.CLD_DUMPED):
            return f"killed by signal {info.si_status}"
        return f"exited with status {info.si_status}"

    def restart(self) -> None:
        self._reap(kill=True)
        self.restarts += 1
        self.start()

    def close(self, grace_s: float = 5.0) -> None:
        """Close the socket (the child exits on EOF), wait ``grace_s``, then kill; reap."""
        self._reap(kill=False, grace_s=grace_s)

    def _reap(self, *, kill: bool, grace_s: float = 0.0) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._buf is not None:
            self._buf.close()
            self._buf = None
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if not kill:
            deadline = time.monotonic() + grace_s
            while _exited(proc) is None and time.monotonic() < deadline:
                time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            if proc.returncode is None and _exited(proc) is None:
                proc.kill()
        cpu = _wait_cpu(proc)
        if self._on_cpu is not None:
            self._on_cpu(proc.pid, cpu)


def _exited(proc: subprocess.Popen[bytes]) -> Any:
    """How ``proc`` ended (``waitid`` result), or None while it runs; it stays unreaped, so that
    :func:`_wait_cpu` still gets its CPU."""
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return None


def _wait_cpu(proc: subprocess.Popen[bytes]) -> float:
    """Reap ``proc`` (wait4) and return its CPU seconds, user + system, to the last tick."""
    if proc.returncode is not None:  # already reaped by Popen.poll: rusage is gone
        return 0.0
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:
        return 0.0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return float(usage.ru_utime + usage.ru_stime)


# -- the child side ------------------------------------------------------------------------------


def _serve(conn: Connection, buf: mmap.mmap) -> None:
    kind, config = conn.recv()
    assert kind == "config"
    try:
        checker: FrameChecker = config.build()
        conn.send(("ready", dict(checker.model_versions)))
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return  # the server closed the socket, or died
        if msg[0] == "enroll":
            conn.send(_enroll(msg[1]))
            continue
        _, t, shape, inline, reference, checks = msg
        n = int(np.prod(shape))
        raw = inline if inline is not None else buf[:n]
        rgb = np.frombuffer(raw, dtype=np.uint8, count=n).reshape(shape)
        try:
            obs = checker.observe(t, rgb, reference=reference, checks=checks)
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            continue
        conn.send(("ok", obs))


def _enroll(photo: bytes) -> tuple[str, Any]:
    """An ID photo's reference encoding, decoded and encoded here: the face encoder holds the
    GIL, and an untrusted image that crashes a decoder takes only this child with it."""
    from courtroom.vision import identity as idn

    try:
        return ("ok", idn.enroll(photo))
    except idn.EnrolmentError as exc:
        return ("refused", exc.reason)
    except Exception as exc:
        return ("refused", f"The photo could not be read ({type(exc).__name__}).")


def main(argv: list[str]) -> None:
    sock_fd, mem_fd = int(argv[0]), int(argv[1])
    buf = mmap.mmap(mem_fd, BUFFER_BYTES)
    os.close(mem_fd)
    conn = Connection(sock_fd)
    try:
        _serve(conn, buf)
    finally:
        conn.close()


if __name__ == "__main__":
    main(sys.argv[1:])
