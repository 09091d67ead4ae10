from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "download-models"


@pytest.fixture(scope="module")
def dl() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("download_models", str(SCRIPT))
    spec = importlib.util.spec_from_loader("download_models", loader)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["download_models"] = mod  # dataclasses look the module up
    loader.exec_module(mod)
    return mod


def test_parse_small_and_large(dl: ModuleType, tmp_path: Path) -> None:
    plan = dl.parse_args(["zh", "en", "--models-dir", str(tmp_path)])
    assert plan.names == ["vosk-model-small-cn-0.22", "vosk-model-small-en-us-0.15"]
    assert plan.models_dir == tmp_path
    large = dl.parse_args(["--large", "en"])
    assert large.names == ["vosk-model-en-us-0.22", "vosk-model-small-en-us-0.15"]
    assert len(dl.PINNED_SHA256["vosk-model-small-cn-0.22"]) == 64


def test_parse_rejects_bad_input(dl: ModuleType) -> None:
    with pytest.raises(SystemExit):
        dl.parse_args(["fr"])
    with pytest.raises(SystemExit):
        dl.parse_args(["ko", "--sha256", "vosk-model-small-ko-0.22=nothex"])


def test_verify_sha256(dl: ModuleType, tmp_path: Path) -> None:
    f = tmp_path / "m.zip"
    f.write_bytes(b"model bytes")
    good = hashlib.sha256(b"model bytes").hexdigest()
    assert dl.verify_sha256(f, good) == good
    assert dl.verify_sha256(f, good.upper()) == good
    with pytest.raises(dl.ChecksumMismatch):
        dl.verify_sha256(f, "0" * 64)
    with pytest.raises(dl.Unverifiable):
        dl.verify_sha256(f, None)
    assert dl.verify_sha256(f, None, allow_unverified=True) == good
