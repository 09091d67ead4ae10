"""The project's rule: small modules with one concept each, at most 600 lines.

Checked for every Python module of the server, media, ASR and scripts, and every browser
module (vendored third-party files under static/vendor/ are not ours and are left out)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 600
OURS = sorted(
    [p for d in ("courtroom", "media", "asr", "scripts") for p in (ROOT / d).rglob("*.py")]
    + list((ROOT / "static" / "js").rglob("*.js"))
)


def test_there_are_modules_to_check() -> None:
    assert len(OURS) > 100


@pytest.mark.parametrize("path", OURS, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_at_most_600_lines(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= LIMIT, f"{path.relative_to(ROOT)} has {lines} lines (> {LIMIT}): split it"
