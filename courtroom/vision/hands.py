"""Hand landmarks (mediapipe HandLandmarker): where the hands are, for the phone-use cues.

A phone at the ear is often hidden by the hand holding it, and YOLOX-nano scores such phones
near 0, so the phone check also looks at the hands: a hand at the ear or in front of the face,
and a high-resolution look for a phone in each hand (``courtroom/vision/phone.py``).

The model bundle ``models/hand_landmarker.task`` is built from the palm-detection and
hand-landmark models that the mediapipe 0.10.14 wheel ships (Apache-2.0; see
``models/SOURCES.md``). mediapipe 1.2's task runtime reads them with numpy 2 in this process.
When mediapipe or the bundle is missing, :func:`load` returns ``None`` and the phone check runs
on the object detector alone (the status says so).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from courtroom.paths import PACKAGE_DIR
from courtroom.vision.detector import Box, RGBImage

HAND_MODEL: Final = PACKAGE_DIR / "vision" / "models" / "hand_landmarker.task"
MODEL_VERSION: Final = "mediapipe-hand_landmarker-0.10.14-full"
# Landmark indices (mediapipe hand model): wrist, then 4 per finger, tips at 4, 8, 12, 16, 20.
WRIST: Final = 0
TIPS: Final = (4, 8, 12, 16, 20)


@dataclass(frozen=True, slots=True)
class Hand:
    box: Box  # tight box around the 21 landmarks, in frame pixels
    points: tuple[tuple[float, float], ...]  # the 21 landmarks, in frame pixels
    score: float  # handedness score of the model (how sure it is this is a hand)

    @property
    def size(self) -> float:
        return max(self.box.width, self.box.height)


class HandFinder:
    """One mediapipe HandLandmarker, shared; calls are serialised (the task is not re-entrant)."""

    def __init__(self, model: Path = HAND_MODEL, *, max_hands: int = 2, min_score: float = 0.3):
        # mediapipe logs through glog to stderr: keep it to errors.
        os.environ.setdefault("GLOG_minloglevel", "2")
        from mediapipe.tasks.python import BaseOptions, vision

        opts = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model)),
            num_hands=max_hands,
            min_hand_detection_confidence=min_score,
            min_hand_presence_confidence=min_score,
        )
        self._task: Any = vision.HandLandmarker.create_from_options(opts)
        self._lock = threading.Lock()
        self.version = MODEL_VERSION
        # Close before interpreter exit: mediapipe runs its calls on a concurrent.futures
        # executor, which is shut down by threading's exit hooks, before atexit handlers (its
        # own __del__ then fails noisily). threading's hooks run last-registered first.
        register = getattr(threading, "_register_atexit", atexit.register)
        register(self.close)

    def find(self, rgb: RGBImage) -> list[Hand]:
        import mediapipe as mp

        h, w = rgb.shape[:2]
        img = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        with self._lock:
            if self._task is None:
                return []
            result = self._task.detect(img)
        hands: list[Hand] = []
        for k, marks in enumerate(result.hand_landmarks):
            pts = tuple((float(p.x) * w, float(p.y) * h) for p in marks)
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            cats = result.handedness[k] if k < len(result.handedness) else []
            score = float(cats[0].score) if cats else 0.0
            hands.append(Hand(Box(min(xs), min(ys), max(xs), max(ys)), pts, score))
        return hands

    def close(self) -> None:
        with self._lock:
            if self._task is not None:
                task, self._task = self._task, None
                with contextlib.suppress(RuntimeError, TypeError):  # already shutting down
                    task.close()


def load(model: Path = HAND_MODEL) -> HandFinder | None:
    """The hand finder, or ``None`` when mediapipe or the model bundle is not installed."""
    if not model.is_file():
        return None
    try:
        return HandFinder(model)
    except ImportError:
        return None
