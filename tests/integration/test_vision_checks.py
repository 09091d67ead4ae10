"""Vision checks with the real models (no mocks) on the repository's own photos and clip, and on
scenes composed from them (tests/scenes.py; sources in tests/fixtures/SOURCES.md).

What moved to ``scripts/bench_vision.py --shared DIR`` (photos that may not be redistributed):
the mug and microphone distractors, a phone lying on an empty desk, the calibration of the
identity thresholds on low-resolution stills of other people.
"""

from __future__ import annotations

import asyncio

import av
import pytest
import scenes
from PIL import Image
from scenes import RGB

from courtroom.vision import faces as fr
from courtroom.vision.checks import CHEAP_CHECKS, Check, FrameChecker
from courtroom.vision.debounce import Debouncer, FlagKind, snapshot_jpeg
from courtroom.vision.detector import Detector
from courtroom.vision.identity import EnrolmentError, MatchReason, enroll, match
from courtroom.vision.worker import VisionWorker

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector()  # the YOLOX model shipped in the package


@pytest.fixture(scope="session")
def checker(detector: Detector) -> FrameChecker:
    return FrameChecker(detector)


def px(im: Image.Image) -> RGB:
    return scenes.rgb(im)


SCENES = {
    "man (webcam clip)": lambda: scenes.man(3),
    "young woman (group photo crop)": scenes.girl,
    "young man (group photo crop)": scenes.boy,
    "woman drawing (COCO)": lambda: scenes.image(scenes.WOMAN_DRAWING),
    "man pasted into the empty room": lambda: scenes.person_in_room(scenes.man(5)),
    "young woman pasted into the empty room": lambda: scenes.person_in_room(scenes.girl()),
}

# ---- face presence and people count -------------------------------------------------------


@pytest.mark.parametrize("scene", SCENES)
def test_one_face_one_person(checker: FrameChecker, scene: str) -> None:
    o = checker.observe(0.0, px(SCENES[scene]()), checks=CHEAP_CHECKS)
    assert (o.faces, o.persons) == (1, 1)


def test_empty_room_has_no_face_and_no_person(checker: FrameChecker) -> None:
    room = scenes.empty_room()
    o = checker.observe(0.0, px(room), checks=CHEAP_CHECKS)
    assert (o.faces, o.persons) == (0, 0)
    # The same room with someone in it: the count comes from the person, not the background.
    o = checker.observe(0.0, px(scenes.person_in_room(scenes.boy())), checks=CHEAP_CHECKS)
    assert (o.faces, o.persons) == (1, 1)


@pytest.mark.parametrize(
    "scene",
    ["two people in one photo", "two people side by side"],
)
def test_two_people(checker: FrameChecker, scene: str) -> None:
    im = (
        scenes.two_teens()
        if scene == "two people in one photo"
        else scenes.side_by_side(scenes.man(2), scenes.boy())
    )
    o = checker.observe(0.0, px(im), checks=CHEAP_CHECKS)
    assert (o.faces, o.persons) == (2, 2)


def test_face_present_on_webcam_video_frames(checker: FrameChecker) -> None:
    frames = scenes.man_frames(every=25)  # decoded and rotated as the worker does
    counts = [fr.face_boxes(f, checker.face_options) for f in frames]
    assert len(frames) == 11 and all(len(c) == 1 for c in counts)
    assert frames[0].shape == (424, 240, 3)  # portrait: the clip's display rotation applied


def test_letterboxed_frames_keep_their_counts(checker: FrameChecker) -> None:
    """As the server sees them: scenes in a 640x480 webcam frame with black bars."""
    for im, want in [
        (scenes.man(1), (1, 1)),
        (scenes.empty_room(), (0, 0)),
        (scenes.two_teens(), (2, 2)),
    ]:
        o = checker.observe(0.0, scenes.letterbox(im), checks=CHEAP_CHECKS)
        assert (o.faces, o.persons) == want


# ---- phone --------------------------------------------------------------------------------


def test_phone_in_hand_is_detected(checker: FrameChecker) -> None:
    o = checker.observe(
        0.0, px(scenes.image(scenes.TODDLER_WITH_PHONE)), checks=frozenset({Check.PHONE})
    )
    assert o.phone_score is not None and o.phone_score >= 0.25


@pytest.mark.parametrize("second", [0, 4, 8])
def test_phone_held_up_beside_the_face_is_phone_use(checker: FrameChecker, second: int) -> None:
    """A real phone (cut from the COCO photo) held up next to the man's chin."""
    o = checker.observe(0.0, px(scenes.phone_held_up(scenes.man(second))), checks=CHEAP_CHECKS)
    assert o.phone_score is not None and o.phone_score >= 0.25
    assert o.phone_near_face
    # Without the phone, the same frame scores nothing.
    plain = scenes.man(second).resize((360, 636))
    assert checker.observe(0.0, px(plain), checks=CHEAP_CHECKS).phone_score == 0.0


def test_phone_on_the_ground_is_not_phone_use(checker: FrameChecker) -> None:
    # A small phone lies on the ground beside the woman; nobody is using it.
    o = checker.observe(0.0, px(scenes.image(scenes.WOMAN_DRAWING)), checks=CHEAP_CHECKS)
    assert o.phone_score is not None and o.phone_score < 0.25


@pytest.mark.parametrize(("second", "at", "scale"), [(0, (230, 380), 1.6), (4, (200, 350), 1.5)])
def test_mug_held_up_is_not_a_phone(
    checker: FrameChecker, second: int, at: tuple[int, int], scale: float
) -> None:
    im = scenes.mug_held_up(scenes.man(second), at, scale)
    o = checker.observe(0.0, px(im), checks=frozenset({Check.PHONE}))
    assert o.phone_score is not None and o.phone_score < 0.25


@pytest.mark.parametrize("scene", [s for s in SCENES if s != "woman drawing (COCO)"])
def test_people_without_a_phone_score_no_phone_use(checker: FrameChecker, scene: str) -> None:
    o = checker.observe(0.0, px(SCENES[scene]()), checks=frozenset({Check.PHONE}))
    assert o.phone_score is not None and o.phone_score < 0.25


def test_person_crop_pass_finds_more_phone_evidence(detector: Detector) -> None:
    rgb = px(scenes.image(scenes.TODDLER_WITH_PHONE))
    full = detector.detect(rgb, person_crop_pass=False)
    both = detector.detect(rgb, person_crop_pass=True)
    assert len(full.persons) == 1 and both.phone_score >= full.phone_score > 0


# ---- identity: the man of the clip against himself and against other people -----------------


@pytest.fixture(scope="session")
def man_ref() -> fr.Encoding:
    return enroll(scenes.jpeg(scenes.man(0)))  # an ID photo: one frame, as JPEG bytes


@pytest.mark.parametrize("second", [2, 5, 9])
def test_identity_match(man_ref: fr.Encoding, second: int) -> None:
    r = match(man_ref, px(scenes.man(second)))
    assert r.matched and r.reason is MatchReason.MATCH
    assert r.distance is not None and r.distance <= r.threshold


def test_identity_match_in_another_setting(man_ref: fr.Encoding) -> None:
    """The same man pasted into another room, letterboxed as a webcam frame."""
    r = match(man_ref, scenes.letterbox(scenes.person_in_room(scenes.man(7))))
    assert r.matched and r.reason is MatchReason.MATCH


OTHER_PEOPLE = ["young woman (group photo crop)", "young man (group photo crop)", "woman drawing (COCO)"]


@pytest.mark.parametrize("other", OTHER_PEOPLE)
def test_identity_mismatch(man_ref: fr.Encoding, other: str) -> None:
    r = match(man_ref, px(SCENES[other]()))
    assert not r.matched and r.reason is MatchReason.MISMATCH
    assert r.distance is not None and r.distance > fr.IDENTITY_THRESHOLD


def _blurred(im: Image.Image, width: int) -> RGB:
    """A low-resolution still: downscaled to ``width`` pixels across, scaled back up."""
    small = im.resize((width, round(im.height * width / im.width)), Image.Resampling.BILINEAR)
    return px(small.resize(im.size, Image.Resampling.BILINEAR))


def test_low_res_stills_stay_closer_than_other_people_and_the_gate_is_stricter(
    man_ref: fr.Encoding,
) -> None:
    others = [match(man_ref, px(SCENES[o]())).distance for o in OTHER_PEOPLE]
    nearest_other = min(d for d in others if d is not None)
    gate_only: list[float] = []  # rejected at the gate, accepted by the patrol
    for second in (3, 5, 8):
        for width in (24, 22, 20):  # the face is 15-20 pixels wide before scaling back up
            live = _blurred(scenes.man(second), width)
            gate = match(man_ref, live)
            patrol = match(man_ref, live, threshold=fr.IDENTITY_THRESHOLD)
            assert gate.distance is not None and gate.distance == patrol.distance
            # Blurred, the man is still nearer to his photo than anyone else is.
            assert gate.distance < nearest_other
            assert gate.matched == (gate.distance <= fr.GATE_THRESHOLD)
            assert patrol.matched == (gate.distance <= fr.IDENTITY_THRESHOLD)
            if not gate.matched and patrol.matched:
                assert gate.reason is MatchReason.MISMATCH
                gate_only.append(gate.distance)
    # Such stills exist: the strict gate sends them to the clerk, the lenient patrol keeps quiet.
    assert gate_only, "no low-res still fell between the gate and patrol thresholds"


def test_identity_reasons(man_ref: fr.Encoding) -> None:
    assert match(man_ref, px(scenes.empty_room())).reason is MatchReason.NO_FACE
    several = match(man_ref, px(scenes.side_by_side(scenes.man(2), scenes.boy())))
    assert several.reason is MatchReason.SEVERAL_FACES and not several.matched
    assert several.distance is not None and several.distance <= fr.GATE_THRESHOLD  # he is there


def test_enrol_rejects_bad_id_photos() -> None:
    with pytest.raises(EnrolmentError, match="No face"):
        enroll(scenes.jpeg(scenes.empty_room()))
    with pytest.raises(EnrolmentError, match="several faces"):
        enroll(scenes.jpeg(scenes.two_teens()))
    with pytest.raises(EnrolmentError, match="not a readable image"):
        enroll(b"not an image")


# ---- worker + debouncer: person, then an empty room ----------------------------------------


async def test_worker_and_debouncer_left_frame(checker: FrameChecker) -> None:
    person = scenes.man_frames(every=30, limit=4)
    room = px(scenes.empty_room())
    frames = [*person, *[room] * 6, *person[:3]]  # 1 fps: 4 s present, 6 s away, 3 s back
    worker = VisionWorker(checker=checker, max_workers=2)
    deb = Debouncer("p1", model_versions=checker.model_versions)
    flags = []
    async with worker:
        for t, f in enumerate(frames):
            o = await worker.observe("p1", float(t), f, checks=frozenset({Check.FACES}))
            assert o is not None
            flags += deb.feed(o)
    flags += deb.finish()
    assert [(f.kind, f.t0, f.t1) for f in flags] == [
        (FlagKind.LEFT_FRAME, 4.0, None),
        (FlagKind.LEFT_FRAME, 4.0, 10.0),
    ]
    assert flags[0].evidence_frame_t == 7.0
    assert snapshot_jpeg(frames[7]).jpeg[:2] == b"\xff\xd8"


async def test_worker_replaces_stale_frames(checker: FrameChecker) -> None:
    rgb = px(scenes.man(1))
    async with VisionWorker(checker=checker, max_workers=1) as worker:
        results = await asyncio.gather(
            *(worker.observe("p1", float(t), rgb, checks=CHEAP_CHECKS) for t in range(5))
        )
    # first runs, 2-4 wait in the single slot and replace each other: only t=4 is checked
    assert [r.t if r else None for r in results] == [0.0, None, None, None, 4.0]
    assert worker.superseded == 3


async def test_worker_accepts_av_video_frames(checker: FrameChecker) -> None:
    frame = av.VideoFrame.from_ndarray(scenes.letterbox(scenes.two_teens()), format="rgb24")
    frame = frame.reformat(format="yuv420p")  # what a decoder hands over
    async with VisionWorker(checker=checker) as worker:
        o = await worker.observe("p2", 1.0, frame, checks=CHEAP_CHECKS)
    assert o is not None and o.faces == 2

