"""A small JSON client for the server's REST API (standard library only), and a server
subprocess for the scripted demo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ApiFailure(Exception):
    def __init__(self, status: int, body: str, what: str) -> None:
        super().__init__(f"{what}: HTTP {status}: {body[:300]}")
        self.status = status


@dataclass
class Rest:
    base: str
    token: str = ""
    timeout: float = 60.0

    def call(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None
    ) -> tuple[int, bytes]:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base.rstrip("/") + path, data=data, method=method)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        elif raw is not None:
            req.add_header("Content-Type", "application/octet-stream")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return int(resp.status), bytes(resp.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), bytes(exc.read())

    def json(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> Any:
        status, data = self.call(method, path, body, raw=raw)
        if status >= 400:
            raise ApiFailure(status, data.decode(errors="replace"), f"{method} {path}")
        return json.loads(data)

    def as_(self, token: str) -> Rest:
        return Rest(self.base, token, self.timeout)


def answers(base: str, timeout: float = 2.0) -> bool:
    """Whether a courtroom server answers at ``base``."""
    try:
        status, data = Rest(base, timeout=timeout).call("GET", "/healthz")
    except (OSError, ValueError):
        return False
    return status == 200 and b'"ok"' in data


@dataclass
class ServerProcess:
    """``courtroom serve`` on a free loopback port, with the given data dir."""

    proc: subprocess.Popen[str]
    base: str
    output: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, env: dict[str, str], timeout: float = 90.0) -> ServerProcess:
        cmd = [sys.executable, "-m", "courtroom.cli", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", "0", "--ice-loopback-only"]
        proc = subprocess.Popen(
            cmd,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if m := re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line):
                threading.Thread(target=lines.extend, args=(proc.stdout,), daemon=True).start()
                return cls(proc, m.group(1), lines)
        proc.kill()
        raise RuntimeError("the server did not start:\n" + "".join(lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def registry_key(data_dir: Path) -> str:
    """The registry's key: COURTROOM_REGISTRY_KEY, else the one the server keeps in the data dir."""
    if key := os.environ.get("COURTROOM_REGISTRY_KEY"):
        return key
    return (data_dir / "registry.key").read_text().strip()
