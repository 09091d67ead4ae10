"""Browser end-to-end fixtures: a real courtroom server, a real headless Chromium.

Loopback only. One Chromium per test session (no fake media files yet, so every context may
share it); each participant gets its own browser context. Screenshots go to
test-artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from court_client import Server, running_server
from e2e_helpers import PHONE
from playwright import sync_api

sync_api.expect.set_options(timeout=10_000)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--disable-quic",
    "--allow-loopback-in-peer-connection",  # media is loopback-only (BROWSER-E2E.md §5)
    "--autoplay-policy=no-user-gesture-required",
]

WAIT_MS = 10_000


def _launch(pw: Any, flags: list[str]) -> Any:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM} (scripts/install test installs it)")
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags, timeout=30_000)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    b = _launch(playwright, FLAGS)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def browser_without_media_permission(playwright: Any) -> Iterator[Any]:
    """Fake devices, but no auto-accepted permission prompt: getUserMedia is refused."""
    b = _launch(playwright, [f for f in FLAGS if f != "--use-fake-ui-for-media-stream"])
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path / "data", args=["--ice-loopback-only"]) as s:
        yield s
        # Kept for diagnosis: pytest shows it with the failure report (-rA or on error).
        print("".join(s.output[-200:]))


class Pages:
    """Opens pages in fresh contexts and closes them all at the end of the test."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self.console: dict[Any, list[str]] = {}

    def open(self, size: dict[str, int] = PHONE, browser: Any = None) -> Any:
        ctx = (browser or self.browser).new_context(
            viewport=size, locale="zh-CN", has_touch=size == PHONE
        )
        ctx.set_default_timeout(WAIT_MS)
        self.contexts.append(ctx)
        page = ctx.new_page()
        errors: list[str] = []
        self.console[page] = errors
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def pages(browser: Any) -> Iterator[Pages]:
    p = Pages(browser)
    try:
        yield p
    finally:
        p.close()
