"""Shared fixtures: speech made at test time and free loopback ports."""

from __future__ import annotations

import socket

import pytest
from speech import Speech, korean_speech


@pytest.fixture(scope="session")
def korean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Speech]:
    """Korean sentences spoken by espeak-ng (tests/speech.py), 16 kHz mono WAV, made once."""
    return korean_speech(tmp_path_factory.mktemp("korean-speech"))


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
