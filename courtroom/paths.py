"""Where courtroom finds things on disk. Everything can be moved with an environment variable."""

from __future__ import annotations

import os
from pathlib import Path


def models_dir() -> Path:
    """Model files (vosk/, vision/). Defaults to ../shared/models beside the checkout."""
    return Path(os.environ.get("COURTROOM_MODELS_DIR", "../shared/models"))


def data_dir() -> Path:
    """Server data: SQLite database, keys, recordings, evidence snapshots."""
    return Path(os.environ.get("COURTROOM_DATA_DIR", "courtroom-data"))
