"""A real courtroom server in this process, on its own thread and event loop.

For tests that must reach into the running server, e.g. to make its event loop late
(:meth:`InProcessServer.stall`) the way a synchronous call or a starved CPU would. Everything
else about it is the real thing: the app, its lifespan, uvicorn, HTTP and websockets on
127.0.0.1. court_client's helpers take it where they take a subprocess server (they use
``base`` and ``ws_url``)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from court_client import REGISTRY_KEY

from courtroom.config import Settings
from courtroom.server.app import create_app
from tests.conftest import free_port

ENV = {"COURTROOM_REGISTRY_KEY": REGISTRY_KEY,
       "COURTROOM_SECRET": "test-session-secret-0123456789abcdef0123456789"}


@dataclass
class InProcessServer:
    base: str
    app: Any
    loop: asyncio.AbstractEventLoop

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/ws"

    def stall(self, seconds: float) -> None:
        """Hold the server's event loop for ``seconds`` (soon, from any thread)."""
        self.loop.call_soon_threadsafe(time.sleep, seconds)


@contextmanager
def in_process_server(data_dir: Path, **settings: Any) -> Iterator[InProcessServer]:
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)  # read at start-up (the court's keys), so set until the end
    try:
        with _serving(create_app(Settings.from_env(data_dir=data_dir, **settings))) as server:
            yield server
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def _serving(app: Any) -> Iterator[InProcessServer]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True, name="in-process-court")
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the in-process server did not start")
        time.sleep(0.05)
    try:
        yield InProcessServer(f"http://127.0.0.1:{port}", app, app.state.monitor._task.get_loop())
    finally:
        server.should_exit = True
        thread.join(30)
