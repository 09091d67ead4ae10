"""The newcomer's path: `courtroom --help`, `demo` against a running server, `demo --sealed`
then `verify`, and `verify-log` on a hearing that does not exist. Real processes throughout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from court_client import REGISTRY_KEY, REPO, running_server

COMMANDS = ("serve", "demo", "verify-log", "transcribe", "init-keys", "verify", "archive-renew", "drain")


def cli(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "courtroom.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def test_every_command_is_described() -> None:
    import argparse

    from courtroom.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    assert set(helps) == set(COMMANDS) and all(len(h or "") > 20 for h in helps.values()), helps
    shown = " ".join(cli("--help").stdout.split())
    for text in helps.values():
        assert " ".join(str(text).split()) in shown
    for name in ("serve", "demo", "verify-log", "transcribe"):
        page = cli(name, "--help")
        assert page.returncode == 0 and len(page.stdout.split("\n\n")[1]) > 40, page.stdout  # a description


def test_verify_log_refuses_an_unknown_hearing(tmp_path: Path) -> None:
    none = cli("verify-log", "all", "--data-dir", str(tmp_path))
    assert none.returncode == 0 and "no hearings in this database" in none.stdout
    typo = cli("verify-log", "h-nonexistent", "--data-dir", str(tmp_path))
    assert typo.returncode == 2 and "no hearing 'h-nonexistent'" in typo.stderr and "OK" not in typo.stdout


def test_demo_prints_the_running_servers_links(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        status = httpx.get(f"{server.base}/api/v1/status", timeout=10).json()["transcription"]
        key = {"COURTROOM_REGISTRY_KEY": REGISTRY_KEY}  # as the server was given it
        done = cli("demo", "--server", server.base, "--data-dir", str(tmp_path), env=key)
        assert done.returncode == 0, done.stdout + done.stderr
        links = re.findall(r"(\S+/join\S*)\s+code (\S+)", done.stdout)
        assert len(links) == 5 and all(url.startswith(server.base + "/join") for url, _ in links), done.stdout
        first_on = next(lang for lang in ("zh", "en", "ko") if status.get(lang, {}).get("available"))
        assert f"live transcript: on ({first_on}" in done.stdout
        assert re.search(rf"hearing h-\S+ scheduled on the server at {server.base}", done.stdout)
        public = cli("demo", "--server", server.base, "--data-dir", str(tmp_path), "--public-url", "https://court.example:8443", env=key)
        assert "https://court.example:8443/join" in public.stdout
        off = cli("demo", "--server", server.base, "--data-dir", str(tmp_path), "--language", "zh", env=key)
        if not status["zh"]["available"]:
            assert "the demo's live transcript is OFF for zh" in off.stdout and "download-models zh" in off.stdout


def test_demo_without_a_server_says_which_address_it_assumed(tmp_path: Path) -> None:
    done = cli("demo", "--data-dir", str(tmp_path), "--port", "9")
    assert done.returncode == 0, done.stderr
    assert "no server answered at http://127.0.0.1:9" in done.stdout
    assert "the links assume http://127.0.0.1:9:" in done.stdout and "http://127.0.0.1:9/join?" in done.stdout


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_sealed_then_verify_in_a_fresh_data_dir(tmp_path: Path) -> None:
    env = {"COURTROOM_DATA_DIR": str(tmp_path / "courtroom-data")}
    env.pop("COURTROOM_MODELS_DIR", None)
    demo = cli("demo", "--sealed", "record.pdf", cwd=tmp_path, env=env, timeout=280)
    assert demo.returncode == 0, demo.stdout + demo.stderr[-3000:]
    assert "check it: courtroom verify " in demo.stdout
    verify = cli("verify", "record.pdf", cwd=tmp_path, env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "RESULT: VALID" in verify.stdout
    assert "5 record signature(s), 1 oath signature(s)" in verify.stdout
    lines = re.search(r"transcript\.audit: (\d+) lines match the audit log", verify.stdout)
    assert lines is not None and int(lines.group(1)) >= 1, verify.stdout  # recognised by the server
