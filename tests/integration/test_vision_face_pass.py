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
from courtroom.vision.worker import CheckerConfig

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


def test_an_empty_seat_is_settled_by_the_quick_pass(
    detector: Detector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """YOLOX sees nobody and the quick pass finds no face: that is the answer, with no full
    pass (its 72 ms were most of an empty frame's check). The answer is the full pass's."""
    room = scenes.rgb(scenes.empty_room())
    passes: list[int] = []
    real_hog = fr._hog

    def counted(img: RGB, upsample: int) -> list[tuple[int, int, int, int]]:
        passes.append(upsample)
        return real_hog(img, upsample)

    monkeypatch.setattr(fr, "_hog", counted)
    seen = FrameChecker(detector).observe(0.0, room, checks=CHEAP_CHECKS)
    assert (seen.faces, seen.persons) == (0, 0)
    assert passes == [0]  # the quick pass alone (the room is 640 px: full is upsample 1)
    passes.clear()
    assert FrameChecker(detector, face_options=FULL).observe(0.0, room, checks=CHEAP_CHECKS).faces == 0
    assert passes == [1]
    passes.clear()  # the former rule (the capacity bench's baseline): the full pass confirms
    confirm = fr.FaceOptions(empty_by_detector=False)
    assert FrameChecker(detector, face_options=confirm).observe(0.0, room, checks=CHEAP_CHECKS).faces == 0
    assert passes == [0, 1]


@pytest.mark.parametrize(
    ("setting", "quick_first", "empty_by_detector"),
    [("", True, True), ("full", False, True), ("confirm-empty", True, False),
     ("CONFIRM-EMPTY", True, False), ("\udcff", True, True), ("x" * 10_000, True, True)],
)
def test_the_face_pass_setting(
    monkeypatch: pytest.MonkeyPatch, setting: str, quick_first: bool, empty_by_detector: bool
) -> None:
    monkeypatch.setenv("COURTROOM_VISION_FACE_PASS", setting)
    opts = CheckerConfig().face_options
    assert (opts.quick_first, opts.empty_by_detector) == (quick_first, empty_by_detector)


def test_a_face_the_quick_pass_misses_still_gets_the_full_pass_when_a_person_is_seen(
    detector: Detector,
) -> None:
    """A small face (under HOG's 80 px window) on a person YOLOX sees: the full pass runs."""
    frame = scenes.rgb(scenes.person_in_room(scenes.man(0), height=0.13))
    assert fr.face_boxes(frame, FULL, expect=0) and not fr.face_boxes(frame, fr.FaceOptions(upsample=0))
    seen = FrameChecker(detector).observe(0.0, frame, checks=CHEAP_CHECKS)
    assert (seen.faces, seen.persons) == (1, 1)


@pytest.mark.parametrize("height", [0.16, 0.13, 0.11, 0.09, 0.07])
def test_the_full_pass_finds_no_face_that_yolox_misses_the_person_of(
    detector: Detector, height: float
) -> None:
    """Why trusting an empty YOLOX answer is safe: shrinking a person until they vanish, YOLOX
    stops seeing them no sooner than the full HOG pass stops seeing their face, so the checks
    count the same faces as with the full pass at every size."""
    frame = scenes.rgb(scenes.person_in_room(scenes.man(0), height=height))
    quick = FrameChecker(detector).observe(0.0, frame, checks=CHEAP_CHECKS)
    full = FrameChecker(detector, face_options=FULL).observe(0.0, frame, checks=CHEAP_CHECKS)
    assert (quick.faces, quick.persons) == (full.faces, full.persons)
    if full.faces:
        assert full.persons


def test_nobody_seen_trusts_the_detector() -> None:
    """locate's ``nobody_seen`` is a promise from the caller: with it, a face only the full pass
    would find is not looked for (FrameChecker only says it when YOLOX saw no person)."""
    frame = scenes.rgb(scenes.person_in_room(scenes.man(0), height=0.13))
    assert fr.face_boxes(frame, fr.FaceOptions(), expect=1) != []
    assert fr.locate(frame, fr.FaceOptions(), expect=1, nobody_seen=True)[2] == []
