"""The vision checks in child processes, through a real server: a killed child is restarted and
said in ``GET /api/v1/vision/status`` while the watch goes on raising flags; the children's CPU
is in ``GET /api/v1/metrics`` under ``vision``; no child outlives the server, whether it stops
cleanly or is killed. Real aiortc peer, real models, the REST API as a client author sees it."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
import scenes
from court_client import (
    Client,
    Server,
    media_for,
    registry,
    running_server,
    schedule,
    start_server,
    token_for,
)
from test_server_vision import ARGS, ENV, FixtureVideo, stop
from test_vision_worker_process import cmdline


def vision_children(server: Server) -> list[int]:
    """The server's child processes running ``courtroom.vision.child`` (from /proc)."""
    found = []
    for task in os.listdir(f"/proc/{server.proc.pid}/task"):
        with open(f"/proc/{server.proc.pid}/task/{task}/children") as fh:
            found += [int(p) for p in fh.read().split()]
    return [p for p in found if "courtroom.vision.child" in cmdline(p)]


def alive(pid: int) -> bool:
    """Running (a zombie that nobody reaped has no cmdline)."""
    return bool(cmdline(pid))


async def until(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def watched_hearing(server: Server, track: FixtureVideo) -> tuple[str, list[object]]:
    """A judge and a watched plaintiff publishing ``track``; returns the hearing id and what
    to close."""
    hid, inv = schedule(server, {"judge": "judge", "plaintiff": "plaintiff"})
    pid = inv["plaintiff"]["participant_id"]
    judge = await Client.join(server, token_for(server, inv["judge"]))
    party = await Client.join(server, token_for(server, inv["plaintiff"]))
    assert (await judge.command("open_hearing"))["ok"]
    assert (await judge.command("admit", participant=pid))["ok"]
    peer = await media_for(party, pid, audio=False, video_track=lambda: track)
    return hid, [peer, judge, party]


@pytest.mark.timeout(180)
async def test_killed_child_is_restarted_and_the_watch_goes_on(tmp_path: Path) -> None:
    person = scenes.letterbox(scenes.man(2))
    empty = scenes.letterbox(scenes.empty_room())
    # In frame long enough to load the models and kill the children, then gone: the flag can
    # only be raised by restarted children.
    track = FixtureVideo([(20.0, person), (60.0, empty)])
    with running_server(tmp_path, args=ARGS, extra_env=ENV) as server:
        status = httpx.get(f"{server.base}/api/v1/vision/status", timeout=10).json()
        assert status["available"] and status["worker"] is None  # models load on first room
        hid, (peer, judge, party) = await watched_hearing(server, track)
        assert isinstance(judge, Client)

        def samples() -> int:
            with registry(server) as reg:
                return int(reg.get(f"/api/v1/hearings/{hid}/vision").json()["samples"])

        await until("the first checks", lambda: samples() >= 2, 60)

        def status_now() -> dict[str, object]:
            return dict(httpx.get(f"{server.base}/api/v1/vision/status", timeout=10).json())

        # One child at first; a second starts only when a frame finds the first busy.
        status = status_now()
        n = len(vision_children(server))
        assert n in (1, 2), n
        assert status["worker"] == {
            "mode": "process",
            "processes": n,
            "restarts": 0,
            "last_restart": None,
        }, status
        with registry(server) as reg:
            cpu = reg.get("/api/v1/metrics").json()["cpu"]
        # The children did the checks: their CPU is there, under vision, and in process_s.
        assert cpu["children_s"] > 0.5, cpu
        assert cpu["components_s"]["vision"] >= cpu["children_s"], cpu
        assert cpu["process_s"] >= sum(cpu["components_s"].values()) - 0.05, cpu

        first = vision_children(server)
        assert len(first) in (1, 2), first
        killed_at = time.monotonic()
        for child in first:
            os.kill(child, signal.SIGKILL)

        def restarted() -> bool:
            st = httpx.get(f"{server.base}/api/v1/vision/status", timeout=10).json()
            return bool(st["worker"]["restarts"] >= len(first))

        await until("the children restarted", restarted, 90)
        status = httpx.get(f"{server.base}/api/v1/vision/status", timeout=10).json()
        assert status["worker"]["processes"] == len(first)
        assert "killed by signal 9" in status["worker"]["last_restart"], status
        assert f"restarted {len(first)} time(s)" in status["message"], status
        second = vision_children(server)
        assert second and not set(second) & set(first), (first, second)
        assert "a checking process died" in "".join(server.output)

        # The participant leaves the frame after the restarts: the flag comes from new children.
        raised = await judge.wait_for(
            lambda m: m["type"] == "event" and m["event"]["type"] == "flag_raised", 60
        )
        assert raised["event"]["kind"] == "left_frame"
        assert track.switched[1] > killed_at
        await stop([peer], [judge, party])  # type: ignore[list-item]
        server.kill(signal.SIGTERM)  # a clean stop closes the children
        assert server.proc.returncode is not None
        assert not [p for p in second if alive(p)], "a vision child outlived the server"


@pytest.mark.timeout(150)
async def test_no_child_outlives_a_killed_server(tmp_path: Path) -> None:
    """SIGKILL gives the server no chance to close anything: each child sees its socket close
    and exits by itself."""
    track = FixtureVideo([(60.0, scenes.letterbox(scenes.man(2)))])
    server = start_server(tmp_path, args=ARGS, extra_env=ENV)
    try:
        _, closers = await watched_hearing(server, track)

        def loaded() -> bool:
            st = httpx.get(f"{server.base}/api/v1/vision/status", timeout=10).json()
            return st["worker"] is not None

        await until("the models", loaded, 90)
        children = vision_children(server)
        assert children
        server.kill(signal.SIGKILL)
        await until("the children to exit", lambda: not [p for p in children if alive(p)], 15)
        await stop([closers[0]], [c for c in closers[1:] if isinstance(c, Client)])
    finally:
        server.kill(signal.SIGKILL)
