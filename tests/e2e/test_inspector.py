"""The inspector console page: the key stays in memory, a wrong key is refused, the console
lists (no) flags and the statistics, in Chinese by default and in English on a click."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from court_client import Server
from e2e_helpers import DESKTOP, by_id, snap
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(90)


def test_inspector_console_sign_in_and_empty_list(
    pages: Any, server: Server, tmp_path: Path
) -> None:
    key = (tmp_path / "data" / "inspector.key").read_text().strip()  # generated, 0600
    assert (tmp_path / "data" / "inspector.key").stat().st_mode & 0o077 == 0
    page = pages.open(DESKTOP)
    page.goto(server.base + "/inspector.html")
    expect(by_id(page, "inspector")).to_contain_text("核查员登录")
    by_id(page, "insp-key").fill("wrong")
    by_id(page, "insp-go").click()
    expect(by_id(page, "insp-error")).to_contain_text("密钥不正确")
    by_id(page, "insp-key").fill(key)
    by_id(page, "insp-go").click()
    expect(by_id(page, "no-flags")).to_be_visible()
    expect(by_id(page, "stats")).to_contain_text("排除率")
    snap(page, "inspector")
    by_id(page, "lang-switch").click()
    expect(by_id(page, "stats")).to_contain_text("Dismissal rate")
    expect(by_id(page, "no-flags")).to_contain_text("No flags match")
    # Nothing of the key reached storage or the address bar.
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert key not in page.url
    assert pages.console[page] == []
