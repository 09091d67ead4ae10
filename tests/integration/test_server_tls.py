"""HTTPS for phones: the server over TLS with the generated local certificate, and real
Caddy (``tls internal``) in front of a real server, REST and websocket upgrade, on loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from court_client import REGISTRY_KEY, REPO, running_server
from websockets.sync.client import connect

from courtroom.tls import ensure_local_tls, machine_names
from tests.conftest import free_port


@dataclass
class TlsServer:
    proc: subprocess.Popen[str]
    base: str
    output: list[str] = field(default_factory=list)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[TlsServer, Path]]:
    tls = ensure_local_tls(tmp_path / "tls", ["localhost", "127.0.0.1"])
    env = {**os.environ, "COURTROOM_DATA_DIR": str(tmp_path), "COURTROOM_REGISTRY_KEY": REGISTRY_KEY, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "courtroom.cli", "serve", "--host", "127.0.0.1", "--port", "0",
           "--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    base = ""
    for line in proc.stdout:
        lines.append(line)
        if m := re.search(r"Uvicorn running on (https://127\.0\.0\.1:\d+)", line):
            base = m.group(1)
            break
    assert base, "".join(lines)
    threading.Thread(target=lines.extend, args=(proc.stdout,), daemon=True).start()
    try:
        yield TlsServer(proc, base, lines), tls.ca_cert
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def hearing_socket_answers(url: str, ctx: ssl.SSLContext) -> dict[str, object]:
    """Open the hearing websocket over TLS and say hello with a bad token: the court answers."""
    with connect(url, ssl=ctx, open_timeout=15) as ws:
        ws.send(json.dumps({"v": 1, "type": "hello", "token": "not-a-token"}))
        return dict(json.loads(ws.recv(timeout=15)))


def test_certificate_names_this_machine(tmp_path: Path) -> None:
    names = machine_names()
    assert names[:2] == ["localhost", "127.0.0.1"] and socket.gethostname() in names
    first = ensure_local_tls(tmp_path, names)
    cert, ca = first.cert.read_bytes(), first.ca_cert.read_bytes()
    assert ensure_local_tls(tmp_path, names).cert.read_bytes() == cert  # kept while still right
    other = ensure_local_tls(tmp_path, ["localhost", "court.lan"])
    assert other.cert.read_bytes() != cert  # remade for the new names
    assert other.ca_cert.read_bytes() == ca  # by the same CA: phones keep trusting it
    assert oct(first.key.stat().st_mode & 0o777) == "0o600"


def test_serve_over_tls_with_the_local_ca(tls_server: tuple[TlsServer, Path]) -> None:
    server, ca = tls_server
    assert any("HTTPS with certificate" in line for line in server.output)
    assert any("serving on https://" in line for line in server.output)
    r = httpx.get(f"{server.base}/healthz", verify=ssl.create_default_context(cafile=str(ca)), timeout=10)
    assert r.status_code == 200 and r.json() == {"ok": True}
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{server.base}/healthz", timeout=10)  # not trusted without the CA
    with httpx.Client(base_url=server.base, verify=ssl.create_default_context(cafile=str(ca)), headers={"Authorization": f"Bearer {REGISTRY_KEY}"}, timeout=10) as http:
        hid = http.post("/api/v1/hearings", json={"case_number": "1", "title": "t", "court": "c", "language": "ko", "scheduled_for": "2026-11-23T09:00:00+09:00"}).json()["hearing_id"]
        inv = http.post(f"/api/v1/hearings/{hid}/participants", json={"role": "judge", "display_name": "J"}).json()
    assert inv["join_url"].startswith(f"{server.base}/join")  # links say https
    ctx = ssl.create_default_context(cafile=str(ca))
    answer = hearing_socket_answers(server.base.replace("https://", "wss://") + "/ws", ctx)
    assert answer["type"] in ("refused", "error"), answer


def test_serve_refuses_half_a_tls_setting(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "courtroom.cli", "serve", "--tls-cert", str(tmp_path / "x.pem")],
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "go together" in done.stderr


CADDYFILE = """{{
\tadmin off
\tskip_install_trust
\tauto_https disable_redirects
\thttp_port {http_port}
\thttps_port {https_port}
}}
https://127.0.0.1:{https_port} {{
\ttls internal
\treverse_proxy {upstream}
}}
"""


@pytest.mark.timeout(120)
def test_caddy_tls_internal_in_front_of_the_server(tmp_path: Path) -> None:
    caddy = "/usr/bin/caddy"
    assert os.path.exists(caddy), "caddy is missing: scripts/install test installs it"
    https_port = free_port()
    home = tmp_path / "caddy-home"
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config")}
    with running_server(tmp_path / "data") as server:
        upstream = server.base.removeprefix("http://")
        conf = tmp_path / "Caddyfile"
        conf.write_text(CADDYFILE.format(http_port=free_port(), https_port=https_port, upstream=upstream))
        proc = subprocess.Popen([caddy, "run", "--config", str(conf), "--adapter", "caddyfile"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            root = home / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
            base = f"https://127.0.0.1:{https_port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    r = httpx.get(f"{base}/healthz", verify=ssl.create_default_context(cafile=str(root)), timeout=5)
                    break
                except (httpx.TransportError, OSError, ssl.SSLError):
                    assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                    time.sleep(0.3)
            assert r.status_code == 200 and r.json() == {"ok": True}
            with httpx.Client(base_url=base, verify=ssl.create_default_context(cafile=str(root)), headers={"Authorization": f"Bearer {REGISTRY_KEY}"}, timeout=10) as http:
                hid = http.post("/api/v1/hearings", json={"case_number": "1", "title": "t", "court": "c", "language": "ko", "scheduled_for": "2026-11-23T09:00:00+09:00"}).json()["hearing_id"]
                inv = http.post(f"/api/v1/hearings/{hid}/participants", json={"role": "judge", "display_name": "J"}).json()
            assert inv["join_url"].startswith(f"{base}/join"), inv  # X-Forwarded-Proto honoured
            ctx = ssl.create_default_context(cafile=str(root))
            answer = hearing_socket_answers(f"wss://127.0.0.1:{https_port}/ws", ctx)
            assert answer["type"] in ("refused", "error"), answer
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
