"""The pose models (BlazePose, from the mediapipe 0.10.14 wheel) on real pixels: the shipped
files, ai-edge-litert, tests/fixtures only."""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import scenes

from courtroom.vision import hands as hd
from courtroom.vision import pose as po
from courtroom.vision.checks import CHEAP_CHECKS, FrameChecker
from courtroom.vision.detector import Detector
from courtroom.vision.phone import PhoneWeights


@cache
def finder() -> po.PoseFinder:
    f = po.load()
    assert f is not None, "ai-edge-litert or courtroom/vision/models/pose_*.tflite missing"
    return f


def upright(p: po.Pose) -> bool:
    """Nose above the shoulders, shoulders above the hips: a person standing or sitting."""
    nose_y = p.xy(po.NOSE)[1]
    shoulder_y = (p.xy(po.LEFT_SHOULDER)[1] + p.xy(po.RIGHT_SHOULDER)[1]) / 2
    hip_y = (p.xy(po.LEFT_HIP)[1] + p.xy(po.RIGHT_HIP)[1]) / 2
    return nose_y < shoulder_y < hip_y


def test_two_standing_people_of_the_group_photo_are_found_upright_and_show_no_cue() -> None:
    rgb = scenes.rgb(scenes.image(scenes.GROUP))
    poses = finder().find(rgb)
    assert 1 <= len(poses) <= finder().max_poses
    h, w = rgb.shape[:2]
    for p in poses:
        assert p.points.shape == (33, 3)
        nose = p.xy(po.NOSE)
        assert 0 <= nose[0] < w and 0 <= nose[1] < h
        assert upright(p), p.points[:25, :2]
    assert po.pose_cues(poses) == po.PoseCues(False, False, False, len(poses))


def test_the_man_looking_at_the_camera_faces_it_with_his_head_up() -> None:
    rgb = scenes.rgb(scenes.man(3))
    (p,) = finder().find(rgb)
    # Nose between the ears, a little below them: facing the camera.
    lx, rx = p.xy(po.LEFT_EAR)[0], p.xy(po.RIGHT_EAR)[0]
    assert min(lx, rx) < p.xy(po.NOSE)[0] < max(lx, rx)
    assert po.head_pitch(p) < 0.45
    assert not po.call_cue(p) and not po.filming_cue(p)


def test_the_toddler_looking_down_at_the_phone_has_the_head_pitched_down() -> None:
    rgb = scenes.rgb(scenes.image(scenes.TODDLER_WITH_PHONE))
    poses = finder().find(rgb)
    assert poses
    assert max(po.head_pitch(p) for p in poses) >= 0.45


def test_the_checker_runs_the_pose_cues_and_names_the_model() -> None:
    w = PhoneWeights(call_bonus=0.2)
    checker = FrameChecker(Detector(), hands=hd.load(), phone_weights=w, pose=finder())
    assert checker.model_versions["pose"] == po.MODEL_VERSION
    o = checker.observe(0.0, scenes.rgb(scenes.image(scenes.GROUP)), checks=CHEAP_CHECKS)
    assert o.phone_cues is not None and o.phone_cues.pose is not None
    assert o.phone_cues.pose.poses >= 1
    # Weights that count no pose cue: the models are not run and not named.
    quiet = FrameChecker(Detector(), pose=finder())
    assert "pose" not in quiet.model_versions
    o = quiet.observe(0.0, scenes.rgb(scenes.man(3)), checks=CHEAP_CHECKS)
    assert o.phone_cues is not None and o.phone_cues.pose is None


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3000, 3), (3000, 2, 3), (16, 16, 3), (480, 640, 3)])
@pytest.mark.parametrize("fill", [0, 255])
def test_degenerate_frames_give_no_pose_and_no_error(shape: tuple[int, int, int], fill: int) -> None:
    assert finder().find(np.full(shape, fill, dtype=np.uint8)) == []


@pytest.mark.parametrize("shape", [(480, 640), (480, 640, 4), (480, 640, 1), (0, 0, 3)])
def test_frames_that_are_not_rgb_give_no_pose(shape: tuple[int, ...]) -> None:
    assert finder().find(np.full(shape, 128, dtype=np.uint8)) == []


def test_a_non_contiguous_view_of_a_real_frame_is_read_like_the_frame() -> None:
    rgb = scenes.rgb(scenes.image(scenes.GROUP))
    flipped_twice = rgb[::-1][::-1]  # a view with negative strides undone: same pixels
    padded = np.zeros((rgb.shape[0], rgb.shape[1] * 2, 3), np.uint8)
    padded[:, ::2] = rgb
    assert len(finder().find(flipped_twice)) == len(finder().find(rgb))
    assert len(finder().find(padded[:, ::2])) == len(finder().find(rgb))


def test_a_changed_or_missing_model_file_is_refused(tmp_path: Path) -> None:
    det = tmp_path / po.DETECTOR_MODEL.name
    lm = tmp_path / po.LANDMARK_MODEL.name
    shutil.copy(po.DETECTOR_MODEL, det)
    assert po.load(det, lm) is None  # landmark model missing
    data = bytearray(po.LANDMARK_MODEL.read_bytes())
    data[-1] ^= 0xFF
    lm.write_bytes(bytes(data))
    assert po.load(det, lm) is None  # one byte changed: not the file documented in SOURCES.md
    shutil.copy(po.LANDMARK_MODEL, lm)
    assert po.load(det, lm) is not None


def test_weights_that_count_pose_without_the_models_say_so_and_run_without(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="courtroom.vision.checks"):
        checker = FrameChecker(Detector(), phone_weights=PhoneWeights(call_bonus=0.3), pose=None)
    assert any("pose models are not installed" in r.getMessage() for r in caplog.records)
    assert "pose" not in checker.model_versions
    o = checker.observe(0.0, scenes.rgb(scenes.man(3)), checks=CHEAP_CHECKS)
    assert o.phone_cues is not None and o.phone_cues.pose is None


def test_without_the_tflite_runtime_the_pose_cues_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    assert po.load() is None
