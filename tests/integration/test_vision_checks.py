"""Vision checks on the real fixture photos and clips with the real models (no mocks)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from courtroom.vision import faces as fr
from courtroom.vision.checks import CHEAP_CHECKS, Check, FrameChecker
from courtroom.vision.debounce import Debouncer, FlagKind, snapshot_jpeg
from courtroom.vision.detector import Detector, RGBImage
from courtroom.vision.identity import EnrolmentError, MatchReason, enroll, match
from courtroom.vision.worker import VisionWorker, to_rgb

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def images(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "vision" / "images"


@pytest.fixture(scope="session")
def detector(models_dir: Path) -> Detector:
    return Detector(models_dir / "vision" / "yolox_nano.onnx")


@pytest.fixture(scope="session")
def checker(detector: Detector) -> FrameChecker:
    return FrameChecker(detector)


def load(images: Path, name: str) -> RGBImage:
    return np.asarray(Image.open(images / name).convert("RGB"))


def video_frames(path: Path, every: int, limit: int) -> list[RGBImage]:
    out: list[RGBImage] = []
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i % every == 0:
                out.append(to_rgb(f))  # applies the clip's -90 degree display rotation
            if len(out) >= limit:
                break
    return out


# ---- face presence and people count -------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["aws_jenny_ref_1.png", "aws_coffee_cup.png", "fr_alex_lacamoire_2.jpg", "coco_8844.jpg"],
)
def test_one_face_one_person(checker: FrameChecker, images: Path, name: str) -> None:
    o = checker.observe(0.0, load(images, name), checks=CHEAP_CHECKS)
    assert o.faces == 1
    assert o.persons is not None and o.persons >= 1


@pytest.mark.parametrize("name", ["coco_802.jpg", "coco_6213.jpg", "coco_56344.jpg"])
def test_empty_room_has_no_face_and_no_person(
    checker: FrameChecker, images: Path, name: str
) -> None:
    o = checker.observe(0.0, load(images, name), checks=CHEAP_CHECKS)
    assert (o.faces, o.persons) == (0, 0)


@pytest.mark.parametrize("name", ["fr_two_people.jpg", "coco_6763.jpg"])
def test_two_people(checker: FrameChecker, images: Path, name: str) -> None:
    o = checker.observe(0.0, load(images, name), checks=CHEAP_CHECKS)
    assert o.faces == 2
    assert o.persons is not None and o.persons >= 2


def test_face_present_on_webcam_video_frames(checker: FrameChecker, shared_dir: Path) -> None:
    frames = video_frames(shared_dir / "fixtures/vision/videos/pai_eye_center_focus.mp4", 25, 10)
    counts = [fr.face_boxes(f, checker.face_options) for f in frames]
    assert len(frames) == 10 and all(len(c) == 1 for c in counts)


# ---- phone --------------------------------------------------------------------------------


def test_phone_in_hand_is_detected(checker: FrameChecker, images: Path) -> None:
    o = checker.observe(0.0, load(images, "coco_168974.jpg"), checks=frozenset({Check.PHONE}))
    assert o.phone_score is not None and o.phone_score >= 0.25


@pytest.mark.parametrize("name", ["coco_56344.jpg", "coco_547336.jpg"])
def test_phone_on_desk_is_not_phone_use(checker: FrameChecker, images: Path, name: str) -> None:
    o = checker.observe(0.0, load(images, name), checks=CHEAP_CHECKS)
    assert o.phone_score is not None and o.phone_score < 0.25


def test_phone_on_empty_desk_is_seen_but_not_counted(checker: FrameChecker, images: Path) -> None:
    # The detector does see the phone on the desk; only the use score rejects it (no person).
    o = checker.observe(0.0, load(images, "coco_56344.jpg"), checks=frozenset({Check.PHONE}))
    assert o.phone_raw_score is not None and o.phone_raw_score >= 0.5
    assert o.phone_score == 0.0


@pytest.mark.parametrize(
    "name", ["aws_coffee_cup.png", "fr_lin_manuel_miranda.png", "aws_jenny_ref_1.png"]
)
def test_mug_and_microphone_are_not_phones(checker: FrameChecker, images: Path, name: str) -> None:
    o = checker.observe(0.0, load(images, name), checks=frozenset({Check.PHONE}))
    assert o.phone_score is not None and o.phone_score < 0.25


def test_person_crop_pass_finds_more_phone_evidence(detector: Detector, images: Path) -> None:
    rgb = load(images, "coco_168974.jpg")
    full = detector.detect(rgb, person_crop_pass=False)
    both = detector.detect(rgb, person_crop_pass=True)
    assert len(full.persons) == 1 and both.phone_score >= full.phone_score > 0


# ---- identity -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def refs(images: Path) -> dict[str, fr.Encoding]:
    files = {
        "alex": "fr_alex_lacamoire_2.jpg",
        "obama": "fr_obama_4.jpg",
        "jenny": "aws_jenny_ref_1.png",
    }
    return {k: enroll((images / f).read_bytes()) for k, f in files.items()}


@pytest.mark.parametrize(
    ("who", "live"),
    [
        ("alex", "fr_alex_lacamoire_3.jpg"),
        ("obama", "fr_obama_partial_face2.jpg"),
        ("jenny", "aws_jenny_ref_2.png"),
        ("jenny", "aws_coffee_cup.png"),
    ],
)
def test_identity_match(refs: dict[str, fr.Encoding], images: Path, who: str, live: str) -> None:
    r = match(refs[who], load(images, live))
    assert r.matched and r.reason is MatchReason.MATCH
    assert r.distance is not None and r.distance <= r.threshold


@pytest.mark.parametrize(
    ("who", "live"),
    [
        ("alex", "fr_lin_manuel_miranda.png"),
        ("obama", "fr_lin_manuel_miranda.png"),
        ("jenny", "pai_clapperboard.jpg"),
        ("alex", "aws_jenny_ref_2.png"),
        ("obama", "coco_8844.jpg"),
    ],
)
def test_identity_mismatch(refs: dict[str, fr.Encoding], images: Path, who: str, live: str) -> None:
    r = match(refs[who], load(images, live))
    assert not r.matched and r.reason is MatchReason.MISMATCH
    assert r.distance is not None and r.distance > r.threshold


def test_low_res_still_is_rejected_at_the_gate_but_passes_the_patrol(
    refs: dict[str, fr.Encoding], images: Path
) -> None:
    live = load(images, "fr_alex_lacamoire_1.png")  # low-res video still of the same man
    gate = match(refs["alex"], live)
    assert gate.reason is MatchReason.MISMATCH and gate.distance is not None
    assert fr.GATE_THRESHOLD < gate.distance <= fr.IDENTITY_THRESHOLD
    assert match(refs["alex"], live, threshold=fr.IDENTITY_THRESHOLD).matched


def test_identity_reasons(refs: dict[str, fr.Encoding], images: Path) -> None:
    assert match(refs["obama"], load(images, "coco_802.jpg")).reason is MatchReason.NO_FACE
    several = match(refs["obama"], load(images, "fr_two_people.jpg"))
    assert several.reason is MatchReason.SEVERAL_FACES and not several.matched


def test_enrol_rejects_bad_id_photos(images: Path) -> None:
    with pytest.raises(EnrolmentError, match="No face"):
        enroll((images / "coco_6213.jpg").read_bytes())
    with pytest.raises(EnrolmentError, match="several faces"):
        enroll((images / "fr_two_people.jpg").read_bytes())
    with pytest.raises(EnrolmentError, match="not a readable image"):
        enroll(b"not an image")


# ---- worker + debouncer: person, then an empty room ----------------------------------------


async def test_worker_and_debouncer_left_frame(
    checker: FrameChecker, images: Path, shared_dir: Path
) -> None:
    person = video_frames(shared_dir / "fixtures/vision/videos/pai_eye_center_focus.mp4", 30, 4)
    room = load(images, "coco_802.jpg")
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


async def test_worker_replaces_stale_frames(checker: FrameChecker, images: Path) -> None:
    rgb = load(images, "aws_jenny_ref_1.png")
    async with VisionWorker(checker=checker, max_workers=1) as worker:
        results = await asyncio.gather(
            *(worker.observe("p1", float(t), rgb, checks=CHEAP_CHECKS) for t in range(5))
        )
    # first runs, 2-4 wait in the single slot and replace each other: only t=4 is checked
    assert [r.t if r else None for r in results] == [0.0, None, None, None, 4.0]
    assert worker.superseded == 3


async def test_worker_accepts_av_video_frames(checker: FrameChecker, images: Path) -> None:
    frame = av.VideoFrame.from_ndarray(load(images, "coco_6763.jpg"), format="rgb24")
    frame = frame.reformat(format="yuv420p")  # what a decoder hands over
    async with VisionWorker(checker=checker) as worker:
        o = await worker.observe("p2", 1.0, frame, checks=CHEAP_CHECKS)
    assert o is not None and o.faces == 2
