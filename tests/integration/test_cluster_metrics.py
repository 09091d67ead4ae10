"""/metrics scraped by a real Prometheus (Debian's ``prometheus``) while a hearing runs, and
the JSON log lines of the same server: ids only, no names.

The server runs media only (COURTROOM_MEDIA_ONLY=1: no ASR, no vision) to stay light on the
shared cores; the ASR and vision figures are present and zero then.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from court_client import Client, Server, media_for, running_server, schedule, token_for
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port

METRICS_KEY = "test-metrics-key-0123456789abcdef"
SECRET_NAME = "증인홍길동"  # a display name that must never reach a log line


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real Prometheus; the test writes its scrape config, then reloads it."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed (apt-get install prometheus)")
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\n")
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("prometheus did not become ready")
        yield base, config
    finally:
        proc.terminate()
        proc.wait(10)


def scrape_court(prom: tuple[str, Path], server: Server, key_file: Path) -> None:
    base, config = prom
    target = server.base.removeprefix("http://")
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: court\n    metrics_path: /metrics\n"
        f"    authorization:\n      type: Bearer\n      credentials_file: {key_file}\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    assert httpx.post(f"{base}/-/reload", timeout=10).status_code == 200


def query(prom: tuple[str, Path], expr: str) -> dict[str, float]:
    """Instant query: {label string: value}."""
    r = httpx.get(f"{prom[0]}/api/v1/query", params={"query": expr}, timeout=10)
    assert r.status_code == 200, r.text
    out = {}
    for item in r.json()["data"]["result"]:
        labels = ",".join(f"{k}={v}" for k, v in sorted(item["metric"].items()) if k not in ("job", "instance", "__name__"))
        out[labels] = float(item["value"][1])
    return out


async def until(prom: tuple[str, Path], expr: str, ok: Any, within: float = 20.0) -> dict[str, float]:
    deadline = time.monotonic() + within
    while True:
        got = query(prom, expr)
        if ok(got):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{expr}: {got}")
        await asyncio.sleep(0.5)


def scrape_text(server: Server) -> dict[str, Any]:
    r = httpx.get(f"{server.base}/metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(r.text)}


@pytest.mark.timeout(180)
async def test_prometheus_scrapes_counters_that_move_as_a_hearing_runs(
    tmp_path: Path, prometheus: tuple[str, Path]
) -> None:
    key_file = tmp_path / "metrics.key"
    key_file.write_text(METRICS_KEY)
    env = {"COURTROOM_METRICS_KEY": METRICS_KEY, "COURTROOM_MEDIA_ONLY": "1", "COURTROOM_LOG_FORMAT": "json"}
    with running_server(tmp_path / "court", extra_env=env, args=["--ice-loopback-only"]) as server:
        # Without the key, or with a wrong one: 401, and nothing about the court leaks.
        assert httpx.get(f"{server.base}/metrics", timeout=10).status_code == 401
        wrong = httpx.get(f"{server.base}/metrics", headers={"Authorization": "Bearer x"}, timeout=10)
        assert wrong.status_code == 401 and "courtroom_" not in wrong.text

        scrape_court(prometheus, server, key_file)
        await until(prometheus, "up", lambda got: got.get("") == 1.0)
        await until(prometheus, "courtroom_hearings", lambda got: got.get("") == 0.0)

        hid, inv = schedule(server, {"judge": "judge", "plaintiff": "plaintiff", SECRET_NAME: "witness"})
        ids = {name: inv[name]["participant_id"] for name in inv}
        ws = {name: await Client.join(server, token_for(server, inv[name])) for name in ("judge", "plaintiff")}
        judge = ws["judge"]
        assert (await judge.command("open_hearing"))["ok"]
        assert (await judge.command("admit", participant=ids["plaintiff"]))["ok"]
        # A command the plaintiff may not give: refused, logged, counted.
        refused = await ws["plaintiff"].command("close_hearing")
        assert not refused["ok"]
        peers = [await media_for(ws[name], ids[name]) for name in ws]

        await until(prometheus, "courtroom_hearings", lambda got: got.get("") == 1.0)
        await until(prometheus, "courtroom_websocket_sessions", lambda got: got.get("") == 2.0)
        presence = await until(
            prometheus, "courtroom_participants", lambda got: got.get("presence=in_hearing") == 2.0
        )
        assert presence["presence=invited"] == 1.0, presence  # the witness has not joined
        await until(prometheus, "courtroom_refused_commands_total", lambda got: sum(got.values()) >= 1)
        first = await until(prometheus, "courtroom_forwarded_packets_total", lambda got: got.get("", 0) > 0)
        await until(prometheus, "courtroom_forwarded_bytes_total", lambda got: got.get("", 0) > 0)
        await until(prometheus, "courtroom_keyframe_requests_total", lambda got: got.get("", 0) > 0)
        # Counters move while media flows.
        await until(prometheus, "courtroom_forwarded_packets_total",
                    lambda got: got.get("", 0) > first[""] + 50)
        lag = await until(prometheus, "courtroom_event_loop_lag_seconds", lambda got: len(got) == 3)
        assert all(v >= 0 for v in lag.values())

        # prometheus-client's own parser reads every family a client author is told of.
        families = scrape_text(server)
        for name in ("courtroom_hearings", "courtroom_participants", "courtroom_forwarded_packets",
                     "courtroom_forwarded_bytes", "courtroom_keyframe_requests", "courtroom_asr_backlog_chunks",
                     "courtroom_vision_queue_age_seconds", "courtroom_event_loop_lag_seconds",
                     "courtroom_websocket_sessions", "courtroom_refused_commands",
                     "courtroom_refused_credentials"):
            assert name in families, name
        assert families["courtroom_forwarded_packets"].type == "counter"
        refused_by_code = {s.labels["code"]: s.value for s in families["courtroom_refused_commands"].samples
                           if s.name.endswith("_total")}
        assert refused_by_code.get("forbidden", 0) >= 1, refused_by_code
        # The wrong metrics keys above were refused credentials too.
        reasons = {s.labels["reason"] for s in families["courtroom_refused_credentials"].samples}
        assert "not the metrics key" in reasons, reasons

        before = sum(s.value for s in families["courtroom_forwarded_packets"].samples if s.name.endswith("_total"))
        for peer in peers:
            await peer.close()
        for client in ws.values():
            await client.close()
        await until(prometheus, "courtroom_websocket_sessions", lambda got: got.get("") == 0.0)
        after = scrape_text(server)
        total = sum(s.value for s in after["courtroom_forwarded_packets"].samples if s.name.endswith("_total"))
        assert total >= before  # a counter never goes down

    # JSON log lines: ids, never names.
    lines = [line for line in server.output if line.startswith("{")]
    assert lines, "".join(server.output[-20:])
    records = [json.loads(line) for line in lines]
    assert all({"ts", "level", "logger", "msg"} <= r.keys() for r in records)
    assert any(r.get("hearing") == hid for r in records), "no log line carries the hearing id"
    assert not any(SECRET_NAME in line for line in server.output)
