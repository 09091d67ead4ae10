"""ID photos on disk, and the identity verdict of a round of live frames.

The photo is kept by hash (``<data_dir>/identity/<hid>/<sha256>.<ext>``) and its reference
encoding as ``<data_dir>/identity/<hid>/<pid>.npy``. The log holds only the hash
(``id_photo_registered``); the face itself never enters the log.

A verdict is taken over a *round* of a few consecutive frames, keeping the best one, so a
single blurred or turned-away frame does not fail a participant at the gate.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the vision stack loads on first use, not at server start-up
    from ..vision import faces as fr
    from ..vision.checks import FrameObservation

MAX_PHOTO_BYTES = 5 * 1024 * 1024
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

STAGES = ("entry", "testimony", "patrol")


def stage_threshold(stage: str) -> float:
    """The gate (entry, testimony) is strict, the patrol lenient (docs/vision.md, "Identity")."""
    from ..vision import faces as fr

    return fr.IDENTITY_THRESHOLD if stage == "patrol" else fr.GATE_THRESHOLD


class EnrolmentRefused(ValueError):
    """The ID photo cannot serve as a reference; ``reason`` is for the clerk."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def photo_kind(data: bytes) -> str | None:
    """``jpg`` or ``png`` by magic number, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


class IdentityStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "identity"
        self._cache: dict[tuple[str, str], tuple[float, fr.Encoding]] = {}

    def _dir(self, hearing_id: str) -> Path:
        if not _SAFE_ID.match(hearing_id):
            raise ValueError("bad hearing id")
        return self.root / hearing_id

    def enroll(
        self,
        hearing_id: str,
        participant_id: str,
        data: bytes,
        encode: Callable[[bytes], fr.Encoding] | None = None,
    ) -> str:
        """Check the photo (exactly one face) and store it; returns its sha256.

        Raises ``EnrolmentError`` with a clerk-readable reason. Blocking (0.4-2 s): run it in a
        thread. ``encode``: the vision worker's (a child process, so the face encoder does not
        hold this process's GIL); default: here.
        """
        from ..vision import identity as idn

        kind = photo_kind(data)
        if kind is None:
            raise EnrolmentRefused("The file must be a JPEG or PNG image.")
        if not _SAFE_ID.match(participant_id):
            raise ValueError("bad participant id")
        try:
            encoding = (encode or idn.enroll)(data)
        except idn.EnrolmentError as exc:
            raise EnrolmentRefused(exc.reason) from None
        sha = hashlib.sha256(data).hexdigest()
        folder = self._dir(hearing_id)
        folder.mkdir(parents=True, exist_ok=True)
        photo = folder / f"{sha}.{kind}"
        if not photo.exists():
            _write_private(photo, data)
        tmp = folder / f".{participant_id}.npy.tmp"
        with open(tmp, "wb") as f:
            np.save(f, encoding)
        os.replace(tmp, folder / f"{participant_id}.npy")
        return sha

    def reference(self, hearing_id: str, participant_id: str) -> fr.Encoding | None:
        """The stored reference encoding (re-read when the file changes), or None."""
        try:
            path = self._dir(hearing_id) / f"{participant_id}.npy"
            mtime = path.stat().st_mtime
        except (OSError, ValueError):
            return None
        key = (hearing_id, participant_id)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        encoding = np.asarray(np.load(path), dtype=np.float64)
        self._cache[key] = (mtime, encoding)
        return encoding


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


@dataclass(frozen=True, slots=True)
class Verdict:
    matched: bool
    distance: float | None
    reason: str  # a ``vision.identity.MatchReason`` value

    @property
    def message(self) -> str:
        """The clerk-readable reason (it also becomes the admit refusal's wording)."""
        from ..vision.identity import MatchReason

        return MatchReason(self.reason).message


_RANK = {"match": 0, "mismatch": 1, "several_faces": 2, "no_face": 3}


def frame_verdict(obs: FrameObservation, threshold: float) -> Verdict:
    """The ``identity.match`` verdict of one checked frame (faces and identity were run)."""
    n = len(obs.face_boxes) if obs.faces is None else obs.faces
    d = obs.identity_distance
    if n == 0 or d is None:
        return Verdict(False, None, "no_face")
    if n > 1:
        return Verdict(False, d, "several_faces")
    ok = d <= threshold
    return Verdict(ok, d, "match" if ok else "mismatch")


def best_verdict(verdicts: list[Verdict]) -> Verdict:
    """The best frame of a round: a match beats a mismatch beats several faces beats none."""
    return min(
        verdicts,
        key=lambda v: (_RANK[v.reason], v.distance if v.distance is not None else 9.0),
    )
