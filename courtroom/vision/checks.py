"""One frame in, one ``FrameObservation`` out: face count, person count, phone score, identity.

Which checks run is configurable per call (identity only when a reference encoding is given),
so the hearing can run the cheap ones continuously and identity only periodically.

Phone use is scored, not just detected (``courtroom/vision/phone.py``): a "cell phone" box counts
only on or next to a person, a second look for a phone runs around each hand, and a hand at the
ear adds to the score. See docs/vision.md for the cues measured and kept.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from courtroom.vision import faces as fr
from courtroom.vision import phone as ph
from courtroom.vision.detector import Box, Detection, Detections, Detector, RGBImage
from courtroom.vision.hands import HandFinder
from courtroom.vision.pose import PoseFinder, pose_cues

log = logging.getLogger(__name__)


class Check(enum.Enum):
    FACES = "faces"
    PERSONS = "persons"
    PHONE = "phone"
    IDENTITY = "identity"


ALL_CHECKS: frozenset[Check] = frozenset(Check)
CHEAP_CHECKS: frozenset[Check] = frozenset({Check.FACES, Check.PERSONS, Check.PHONE})


@dataclass(frozen=True, slots=True)
class FrameObservation:
    """What one frame showed. ``None`` means that check did not run on this frame
    (the debouncer then neither advances nor resets that kind)."""

    t: float
    faces: int | None
    persons: int | None
    phone_score: float | None  # phone-*use* score (phone.py: object + hand cues), 0 when none
    identity_distance: float | None  # None: not checked, or no face to compare
    phone_raw_score: float | None = None  # best "cell phone" box anywhere, for diagnostics
    phone_near_face: bool | None = None
    face_boxes: tuple[Box, ...] = ()
    phone_boxes: tuple[Box, ...] = ()
    checks: frozenset[Check] = field(default_factory=frozenset)
    phone_cues: ph.PhoneCues | None = None


def _expand(b: Box, f: float) -> Box:
    dx, dy = b.width * f, b.height * f
    return Box(b.x0 - dx, b.y0 - dy, b.x1 + dx, b.y1 + dy)


def _inside(point: tuple[float, float], b: Box) -> bool:
    return b.x0 <= point[0] <= b.x1 and b.y0 <= point[1] <= b.y1


def phone_use_score(
    phones: Iterable[Detection], persons: Iterable[Box], face_boxes: Iterable[Box] = ()
) -> float:
    """Best score among phones whose centre is on (or just around) a person or a face."""
    return ph.object_use_score(phones, persons, face_boxes)


def near_face(phone: Box, face_boxes: Iterable[Box], reach: float = 1.0) -> bool:
    """Phone centre within ``reach`` face-widths of a face box (held up or at the ear)."""
    return any(_inside(phone.center, _expand(f, reach)) for f in face_boxes)


class FrameChecker:
    """Holds the models (load once, share across participants). Thread-safe."""

    def __init__(
        self,
        detector: Detector | None = None,
        *,
        face_options: fr.FaceOptions | None = None,
        checks: frozenset[Check] = ALL_CHECKS,
        hands: HandFinder | None = None,
        phone_weights: ph.PhoneWeights = ph.DEFAULT_WEIGHTS,
        pose: PoseFinder | None = None,
    ) -> None:
        self.detector = detector or Detector()
        self.face_options = face_options or fr.FaceOptions()
        self.checks = checks
        self.hands = hands  # None: the hand cues are off (mediapipe not installed)
        self.phone_weights = phone_weights
        # None: the pose cues are off (ai-edge-litert or the pose models not installed). Even
        # when given, the models only run if the weights count a pose cue.
        self.pose = pose if phone_weights.uses_pose else None
        if phone_weights.uses_pose and pose is None:
            # Said once at start-up; flags' model_versions then carry no "pose" either.
            log.warning(
                "vision: the phone weights count pose cues but the pose models are not "
                "installed (ai-edge-litert, courtroom/vision/models/pose_*.tflite); "
                "the phone check runs without them"
            )

    @property
    def model_versions(self) -> dict[str, str]:
        versions = {"detector": self.detector.version, "faces": fr.MODEL_VERSION}
        if self.hands is not None:
            versions["hands"] = self.hands.version
        if self.pose is not None:
            versions["pose"] = self.pose.version
        return versions

    def _expect(self, run: frozenset[Check], dets: Detections | None) -> int:
        """Faces the quick first pass must find to be enough (faces.locate): one per person
        YOLOX saw, at least one. 0 (always the full pass) for identity rounds, whose
        distances were calibrated on the full pass's boxes, and when the quick pass is off."""
        if not self.face_options.quick_first or Check.IDENTITY in run:
            return 0
        return max(1, len(dets.persons) if dets is not None else 1)

    def observe(
        self,
        t: float,
        rgb: RGBImage,
        *,
        reference: fr.Encoding | None = None,
        checks: frozenset[Check] | None = None,
    ) -> FrameObservation:
        run = self.checks if checks is None else checks
        if reference is None:
            run = run - {Check.IDENTITY}
        # YOLOX first: the persons it sees tell the face pass how many faces to expect.
        dets = (
            self.detector.detect(rgb, person_crop_pass=Check.PHONE in run)
            if run & {Check.PERSONS, Check.PHONE}
            else None
        )
        n_faces: int | None = None
        face_boxes: list[Box] = []
        distance: float | None = None
        if run & {Check.FACES, Check.IDENTITY, Check.PHONE}:
            img, s, face_boxes = fr.locate(
                rgb, self.face_options, expect=self._expect(run, dets),
                nobody_seen=dets is not None and not dets.persons,
            )
            if Check.FACES in run:
                n_faces = len(face_boxes)
            if Check.IDENTITY in run and reference is not None and face_boxes:
                encs = fr.encode_at(img, s, face_boxes, self.face_options)
                distance = min(fr.distance(reference, e) for _, e in encs)
        n_persons: int | None = None
        phone: float | None = None
        raw: float | None = None
        at_face: bool | None = None
        phone_boxes: tuple[Box, ...] = ()
        cues: ph.PhoneCues | None = None
        if dets is not None:
            if Check.PERSONS in run:
                n_persons = len(dets.persons)
            if Check.PHONE in run:
                person_boxes = [p.box for p in dets.persons]
                used = [d for d in dets.phones if d.score >= self.detector.phone_threshold]
                use_hands = self.hands is not None and self.phone_weights.uses_hands
                hands = self.hands.find(rgb) if use_hands and self.hands is not None else None
                body = pose_cues(self.pose.find(rgb)) if self.pose is not None else None
                cues = ph.phone_cues(
                    self.detector, rgb, used, person_boxes, face_boxes, hands, self.phone_weights,
                    body,
                )
                phone = cues.score
                raw = dets.phone_score
                at_face = any(near_face(d.box, face_boxes) for d in used)
                phone_boxes = tuple(d.box for d in used)
        return FrameObservation(
            t=t,
            faces=n_faces,
            persons=n_persons,
            phone_score=phone,
            identity_distance=distance,
            phone_raw_score=raw,
            phone_near_face=at_face,
            face_boxes=tuple(face_boxes),
            phone_boxes=phone_boxes,
            checks=run,
            phone_cues=cues,
        )


class FacesOnlyChecker(FrameChecker):
    """Face presence and identity without the YOLOX detector (its model file is missing)."""

    def __init__(self, face_options: fr.FaceOptions | None = None) -> None:
        # No detector: only the checks that never touch it may run.
        self.face_options = face_options or fr.FaceOptions()
        self.checks = frozenset({Check.FACES, Check.IDENTITY})

    @property
    def model_versions(self) -> dict[str, str]:
        return {"faces": fr.MODEL_VERSION}
