"""The face check's quick first pass (courtroom/vision/faces.py ``locate(expect=...)``): HOG at
one upsampling less first, the full pass only when that finds fewer faces than expected.

Real dlib and YOLOX on the repository's own pictures (tests/scenes.py). What must hold: the
quick pass answers like the full pass wherever the answer matters to a flag (nobody in frame,
one face, a second person), falls back to the full pass when it finds too few, and identity
rounds never use it. Its saving is a bench figure (scripts/bench_vision.py,
scripts/bench_watch_pace.py), not asserted here.
"""

from __future__ import annotations

import pytest
import scenes
from scenes import RGB

from courtroom.vision import faces as fr
from courtroom.vision.checks import CHEAP_CHECKS, Check, FrameChecker
from courtroom.vision.detector import Box, Detector

pytestmark = pytest.mark.slow

FULL = fr.FaceOptions(quick_first=False)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = ix * iy
    return inter / (a.area + b.area - inter)


@pytest.mark.parametrize("k", [0, 2, 4, 6])
def test_webcam_face_is_found_by_the_quick_pass_where_the_full_pass_finds_it(k: int) -> None:
    frame = scenes.man_frames(every=12, limit=8)[k]
    quick = fr.face_boxes(frame, fr.FaceOptions(), expect=1)
    full = fr.face_boxes(frame, FULL)
    assert len(quick) == len(full) == 1
    assert iou(quick[0], full[0]) > 0.5  # the same face, about the same box (hand-at-ear cue)


def test_the_quick_pass_alone_finds_the_webcam_face() -> None:
    """The saving is real only if upsample 0 is enough for a webcam face: the quick pass's
    answer is then what HOG at upsample 0 gives, with no second pass."""
    frame = scenes.man_frames(every=12, limit=1)[0]
    up0 = fr.face_boxes(frame, fr.FaceOptions(upsample=0))
    assert len(up0) == 1
    assert fr.face_boxes(frame, fr.FaceOptions(), expect=1) == up0


def test_nobody_in_frame_is_decided_by_the_full_pass() -> None:
    room = scenes.rgb(scenes.empty_room())
    assert fr.face_boxes(room, fr.FaceOptions(), expect=1) == fr.face_boxes(room, FULL) == []


def test_too_few_faces_falls_back_to_the_full_pass() -> None:
    """Expecting more faces than the quick pass can find gives exactly the full pass's boxes."""
    group = scenes.rgb(scenes.image(scenes.GROUP))
    full = fr.face_boxes(group, FULL)
    assert fr.face_boxes(group, fr.FaceOptions(), expect=len(full) + 5) == full


def test_no_expectation_is_the_full_pass() -> None:
    """expect=0 (the gate, enrolment, identity) and quick_first=False never take the quick pass."""
    frame = scenes.man_frames(every=12, limit=1)[0]
    full = fr.face_boxes(frame, FULL)
    assert fr.face_boxes(frame, fr.FaceOptions()) == full
    assert fr.face_boxes(frame, FULL, expect=1) == full


@pytest.mark.parametrize(
    "scene",
    ["man", "two side by side", "empty room", "phone at the ear"],
)
def test_observations_match_the_full_pass(detector: Detector, scene: str) -> None:
    make = {
        "man": lambda: scenes.man(3),
        "two side by side": lambda: scenes.side_by_side(scenes.man(2), scenes.girl()),
        "empty room": scenes.empty_room,
        "phone at the ear": lambda: scenes.phone_at_ear(scenes.man(4)),
    }[scene]
    frame: RGB = scenes.rgb(make())
    quick = FrameChecker(detector).observe(0.0, frame, checks=CHEAP_CHECKS)
    full = FrameChecker(detector, face_options=FULL).observe(0.0, frame, checks=CHEAP_CHECKS)
    assert (quick.faces, quick.persons) == (full.faces, full.persons)
    assert (quick.phone_score or 0) == pytest.approx(full.phone_score or 0, abs=0.15)


def test_identity_rounds_keep_the_full_pass(detector: Detector) -> None:
    checker = FrameChecker(detector)
    assert checker._expect(frozenset({Check.FACES, Check.IDENTITY}), None) == 0
    assert checker._expect(CHEAP_CHECKS, None) == 1
    assert FrameChecker(detector, face_options=FULL)._expect(CHEAP_CHECKS, None) == 0
