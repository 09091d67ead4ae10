"""The hand model and the phone cues on real pixels (the shipped models, tests/fixtures only)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import scenes

from courtroom.vision import hands as hd
from courtroom.vision.checks import CHEAP_CHECKS, FrameChecker
from courtroom.vision.debounce import DebounceConfig
from courtroom.vision.detector import Detector


@cache
def checker() -> FrameChecker:
    finder = hd.load()
    assert finder is not None, "mediapipe or courtroom/vision/models/hand_landmarker.task missing"
    return FrameChecker(Detector(), hands=finder)


def panel(im: scenes.Image.Image) -> np.ndarray:  # type: ignore[type-arg]
    return scenes.letterbox(im, 480, 640)


def test_the_hand_model_finds_the_toddlers_hand_on_the_phone() -> None:
    rgb = scenes.rgb(scenes.image(scenes.TODDLER_WITH_PHONE))
    hands = checker().hands.find(rgb)  # type: ignore[union-attr]
    assert hands, "no hand found"
    # The phone and both hands are in the lower middle of the photo (x 100-245, y 285-380).
    assert any(100 <= h.box.center[0] <= 260 and 270 <= h.box.center[1] <= 400 for h in hands)
    assert all(len(h.points) == 21 for h in hands)
    assert "hands" in checker().model_versions


@pytest.mark.parametrize("k", [3, 6, 9])
def test_phone_at_the_ear_scores_above_the_flag_threshold_mug_and_microphone_below(k: int) -> None:
    thr = DebounceConfig().phone_threshold
    man = scenes.man(k)
    at_ear = checker().observe(0.0, panel(scenes.phone_at_ear(man)), checks=CHEAP_CHECKS)
    assert (at_ear.phone_score or 0) >= thr, at_ear.phone_cues
    for act in (scenes.mug_at_mouth, scenes.microphone_at_mouth, lambda m: m):
        o = checker().observe(0.0, panel(act(man)), checks=CHEAP_CHECKS)
        assert (o.phone_score or 0) < thr, (act, o.phone_cues)


@pytest.mark.parametrize(
    "shape",
    [(1, 1, 3), (2, 3000, 3), (3000, 2, 3), (16, 16, 3), (480, 640, 3)],
)
@pytest.mark.parametrize("fill", [0, 255])
def test_degenerate_frames_give_no_phone_and_no_error(shape: tuple[int, int, int], fill: int) -> None:
    rgb = np.full(shape, fill, dtype=np.uint8)
    o = checker().observe(0.0, rgb, checks=CHEAP_CHECKS)
    assert o.phone_score == 0.0 and o.phone_cues is not None and o.phone_cues.hands == 0
