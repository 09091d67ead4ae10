"""Phone use as people do it: the object detector plus where the hands are.

Cues measured per frame (``PhoneCues``), all in frame pixels:

* ``object_score``: the best YOLOX "cell phone" box on or next to a person or a face (full frame
  plus one pass on a crop around each of the largest persons). A phone lying on an empty desk
  is not phone *use*.
* ``in_hand_score``: the best "cell phone" box found by a second YOLOX pass on a square crop
  around each hand. A phone in a hand is small in a webcam frame; in the crop it is large.
* ``hand_at_ear``: a hand beside the head at ear height (a call), the head being the face box,
  else the top of the person box (HOG misses faces in profile, which is how calls are seen).
* ``hand_at_face``: a hand in front of the lower face (mouth, chin): drinking, eating, a hand
  at the chin and a microphone also do this, so it is never enough on its own.
* ``pose``: body-landmark cues (``courtroom/vision/pose.py``): a wrist at an ear with the elbow
  raised (a call), the head pitched down to both hands (texting), a hand held up in front of the
  face (filming). They need no visible phone; their weights are 0 unless the held-out half of
  the labelled data showed that they help (docs/vision.md, "Pose cues").

``score`` combines them with weights fitted on the training half of the labelled data
(``scripts/bench_vision.py`` prints the fit and the held-out figures; docs/vision.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from courtroom.vision.detector import Box, Detection, Detector, RGBImage, square_crop
from courtroom.vision.hands import Hand
from courtroom.vision.pose import PoseCues


@dataclass(frozen=True, slots=True)
class PhoneWeights:
    """How the cues make one score in [0, 1]. Fitted on the training split (docs/vision.md)."""

    object_weight: float = 1.0  # YOLOX phone on a person
    in_hand_weight: float = 0.75  # YOLOX phone in a crop around a hand
    ear_bonus: float = 0.1  # added when a hand is at the ear and some phone box was seen
    ear_floor: float = 0.05  # minimum phone evidence for the ear bonus to count
    face_penalty: float = 0.0  # taken off when a hand is in front of the face (and not at the ear)
    hand_crop_factor: float = 3.0  # crop side = this many hand sizes
    # Pose cues (pose.py): added when the cue holds and the phone evidence is >= pose_floor.
    call_bonus: float = 0.0  # a wrist at an ear, the elbow raised
    texting_bonus: float = 0.0  # head pitched down to both hands in front of the body
    filming_bonus: float = 0.0  # a hand held up in front of the face
    pose_floor: float = 0.0

    @property
    def uses_hands(self) -> bool:
        """Whether any hand cue counts (if none does, the hand model is not even run)."""
        return self.in_hand_weight > 0 or self.ear_bonus > 0 or self.face_penalty > 0

    @property
    def uses_pose(self) -> bool:
        """Whether any pose cue counts (if none does, the pose models are not even run)."""
        return self.call_bonus > 0 or self.texting_bonus > 0 or self.filming_bonus > 0


DEFAULT_WEIGHTS = PhoneWeights()


@dataclass(frozen=True, slots=True)
class PhoneCues:
    object_score: float
    in_hand_score: float
    hand_at_ear: bool
    hand_at_face: bool
    hands: int
    score: float
    pose: PoseCues | None = None  # None: the pose cues did not run


def _expand(b: Box, f: float) -> Box:
    dx, dy = b.width * f, b.height * f
    return Box(b.x0 - dx, b.y0 - dy, b.x1 + dx, b.y1 + dy)


def _inside(point: tuple[float, float], b: Box) -> bool:
    return b.x0 <= point[0] <= b.x1 and b.y0 <= point[1] <= b.y1


def object_use_score(
    phones: Iterable[Detection], persons: Iterable[Box], face_boxes: Iterable[Box] = ()
) -> float:
    """Best score among phones whose centre is on (or just around) a person or a face."""
    holders = [_expand(p, 0.10) for p in persons] + [_expand(f, 1.5) for f in face_boxes]
    return max(
        (d.score for d in phones if any(_inside(d.box.center, h) for h in holders)), default=0.0
    )


def heads(face_boxes: Sequence[Box], persons: Sequence[Box]) -> list[Box]:
    """Face boxes; without any, a head guessed at the top of each person box (profile views)."""
    if face_boxes:
        return list(face_boxes)
    out = []
    for p in persons:
        side = min(p.width * 0.6, p.height * 0.35)
        cx = (p.x0 + p.x1) / 2
        out.append(Box(cx - side / 2, p.y0, cx + side / 2, p.y0 + side))
    return out


def at_ear(hand: Hand, head: Box) -> bool:
    """Hand centre beside the head (off its centre line) at ear height: how a call is held."""
    cx, cy = hand.box.center
    w, h = head.width, head.height
    off = abs(cx - (head.x0 + head.x1) / 2)
    return 0.35 * w <= off <= 1.3 * w and head.y0 - 0.3 * h <= cy <= head.y0 + 1.1 * h


def at_face(hand: Hand, head: Box) -> bool:
    """Hand centre in front of the face, mouth or chin: drinking, eating, a microphone or a hand
    at the chin, never enough on its own."""
    cx, cy = hand.box.center
    w, h = head.width, head.height
    off = abs(cx - (head.x0 + head.x1) / 2)
    return off < 0.35 * w and head.y0 + 0.3 * h <= cy <= head.y1 + 0.8 * h


def in_hand_score(
    detector: Detector, rgb: RGBImage, hands: Sequence[Hand], factor: float
) -> float:
    """YOLOX on a square crop around each hand; the best phone box touching that hand."""
    h, w = rgb.shape[:2]
    best = 0.0
    for hand in hands[:2]:
        x0, y0, x1, y1 = square_crop(hand.box, w, h, hand.size * factor, margin=0.0)
        if x1 - x0 < 8 or y1 - y0 < 8:
            continue
        found = detector.phones_in(rgb, (x0, y0, x1, y1))
        near = _expand(hand.box, 0.5)
        best = max(
            [best, *(d.score for d in found if d.box.iou(near) > 0 or _inside(d.box.center, near))]
        )
    return best


def combine(
    object_score: float,
    hand_score: float,
    ear: bool,
    face: bool = False,
    weights: PhoneWeights = DEFAULT_WEIGHTS,
    pose: PoseCues | None = None,
) -> float:
    phone = max(weights.object_weight * object_score, weights.in_hand_weight * hand_score)
    # The floor is checked on the object/hand evidence alone, before any bonus.
    evidence = phone
    if ear and evidence >= weights.ear_floor:
        phone += weights.ear_bonus
    elif face:
        phone -= weights.face_penalty
    if pose is not None and evidence >= weights.pose_floor:
        phone += (
            weights.call_bonus * pose.call
            + weights.texting_bonus * pose.texting
            + weights.filming_bonus * pose.filming
        )
    return round(min(1.0, max(0.0, phone)), 4)


def phone_cues(
    detector: Detector,
    rgb: RGBImage,
    phones: Sequence[Detection],
    persons: Sequence[Box],
    face_boxes: Sequence[Box],
    hands: Sequence[Hand] | None,
    weights: PhoneWeights = DEFAULT_WEIGHTS,
    pose: PoseCues | None = None,
) -> PhoneCues:
    """All cues for one frame. ``hands`` is ``None`` when the hand model is not installed,
    ``pose`` when the pose models are not (or no pose cue counts)."""
    obj = object_use_score(phones, persons, face_boxes)
    hs = list(hands or [])
    hd = heads(face_boxes, persons)
    ear = any(at_ear(h, head) for h in hs for head in hd)
    face = any(at_face(h, head) for h in hs for head in hd)
    in_hand = (
        in_hand_score(detector, rgb, hs, weights.hand_crop_factor)
        if hs and weights.in_hand_weight > 0
        else 0.0
    )
    score = combine(obj, in_hand, ear, face, weights, pose)
    return PhoneCues(obj, in_hand, ear, face, len(hs), score, pose)
