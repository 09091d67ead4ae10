"""Where courtroom finds things on disk. Everything can be moved with an environment variable.

Nothing here resolves against the current directory at the time of use: a relative setting is
made absolute once, so ``courtroom serve`` started from another folder finds the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# Shipped with the package (Apache-2.0, see courtroom/vision/models/SOURCES.md).
PACKAGED_VISION_MODEL = PACKAGE_DIR / "vision" / "models" / "yolox_nano.onnx"
VISION_MODEL_NAME = "yolox_nano.onnx"


def data_dir() -> Path:
    """Server data: SQLite database, keys, recordings, evidence snapshots."""
    return Path(os.environ.get("COURTROOM_DATA_DIR", "courtroom-data")).resolve()


def models_dir() -> Path:
    """Model files (vosk/, vision/): ``COURTROOM_MODELS_DIR``, else ``<data dir>/models``."""
    env = os.environ.get("COURTROOM_MODELS_DIR")
    return Path(env).resolve() if env else data_dir() / "models"


def models_dir_origin() -> str:
    """How :func:`models_dir` was chosen, for start-up messages."""
    if os.environ.get("COURTROOM_MODELS_DIR"):
        return "set by COURTROOM_MODELS_DIR"
    if os.environ.get("COURTROOM_DATA_DIR"):
        return "default: <data dir>/models, data dir set by COURTROOM_DATA_DIR"
    return "default: <data dir>/models, data dir ./courtroom-data where the server started"


def vision_model_path(models: Path | None = None) -> Path:
    """The YOLOX model: ``<models>/vision/yolox_nano.onnx`` if present, else the packaged one."""
    override = (models if models is not None else models_dir()) / "vision" / VISION_MODEL_NAME
    return override if override.is_file() else PACKAGED_VISION_MODEL
