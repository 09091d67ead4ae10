"""The tuned view of a vosk model (asr/search.py): links to the large files, its own conf."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pytest

from asr.search import SEARCH, tuned_view


def _model(root: Path) -> Path:
    src = root / "model"
    for d in ("am", "graph", "ivector", "conf"):
        (src / d).mkdir(parents=True)
    (src / "am" / "final.mdl").write_bytes(b"\0" * 64)
    (src / "conf" / "mfcc.conf").write_text("--use-energy=false\n")
    (src / "conf" / "model.conf").write_text(
        "--min-active=200\n--max-active=3000\n--beam=10.0\n--lattice-beam=2.0\n"
    )
    return src


def test_the_view_overrides_only_the_given_settings_and_links_the_rest(tmp_path: Path) -> None:
    src = _model(tmp_path)
    view = tuned_view(src, {"beam": "8.0", "max-active": "1500"})
    assert view != src
    conf = (view / "conf" / "model.conf").read_text().splitlines()
    assert conf == ["--min-active=200", "--lattice-beam=2.0", "--beam=8.0", "--max-active=1500"]
    assert (view / "conf" / "mfcc.conf").read_text() == "--use-energy=false\n"
    for d in ("am", "graph", "ivector"):
        assert (view / d).is_symlink() and (view / d).resolve() == (src / d).resolve()
    # the model itself is untouched
    assert "--beam=10.0" in (src / "conf" / "model.conf").read_text()
    assert oct(view.stat().st_mode & 0o777) == "0o700"  # no other user can slip a conf in


def test_no_overrides_loads_the_stock_model(tmp_path: Path) -> None:
    src = _model(tmp_path)
    assert tuned_view(src, {}) == src


def test_a_view_that_cannot_be_made_falls_back_to_the_stock_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    src = _model(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "nowhere"))  # does not exist
    with caplog.at_level(logging.WARNING):
        assert tuned_view(src, {"beam": "8.0"}) == src
    assert "stock model loaded" in caplog.text


@pytest.mark.parametrize(
    "overrides",
    [{"beam": "8\n--max-active=1"}, {"be=am": "8"}, {"": "8"}, {"beam": ""}, {"beam\ud800": "8"}],
)
def test_settings_that_would_break_the_conf_file_are_refused(
    tmp_path: Path, overrides: dict[str, str]
) -> None:
    with pytest.raises(ValueError):
        tuned_view(_model(tmp_path), overrides)


def test_the_shipped_settings_are_only_for_measured_models() -> None:
    # docs/asr.md "Where a speaker's ASR CPU goes": measured on the Korean model only
    assert set(SEARCH) == {"ko"}
    assert SEARCH["ko"] == {"beam": "8.0", "max-active": "1500"}


def test_operators_can_go_back_to_the_stock_search(monkeypatch: pytest.MonkeyPatch) -> None:
    from asr.search import default_search

    monkeypatch.setenv("COURTROOM_VOSK_SEARCH", "stock")
    assert default_search() == {}
    monkeypatch.setenv("COURTROOM_VOSK_SEARCH", "tuned")
    assert default_search() == SEARCH
    monkeypatch.delenv("COURTROOM_VOSK_SEARCH")
    assert default_search() == SEARCH
