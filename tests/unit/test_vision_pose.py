"""The geometry of the pose cues for phone use, on hand-placed landmarks (no model).

The figure is a person facing the camera in frame pixels: head at the top (y grows downward),
shoulders 100 px apart. Each test moves the few landmarks that make (or do not make) a cue.
"""

from __future__ import annotations

import numpy as np
import pytest

from courtroom.vision import pose as po
from courtroom.vision.phone import PhoneWeights, combine

UPRIGHT = {
    po.NOSE: (150, 100), 1: (160, 90), 2: (165, 90), 3: (170, 90), 4: (140, 90), 5: (135, 90),
    6: (130, 90), po.LEFT_EAR: (175, 95), po.RIGHT_EAR: (125, 95), 9: (160, 115), 10: (140, 115),
    po.LEFT_SHOULDER: (200, 170), po.RIGHT_SHOULDER: (100, 170),
    po.LEFT_ELBOW: (215, 260), po.RIGHT_ELBOW: (85, 260),
    po.LEFT_WRIST: (210, 340), po.RIGHT_WRIST: (90, 340),
    17: (210, 355), 18: (90, 355), po.LEFT_INDEX: (210, 358), po.RIGHT_INDEX: (90, 358),
    21: (205, 350), 22: (95, 350), po.LEFT_HIP: (190, 380), po.RIGHT_HIP: (110, 380),
}


def body(moves: dict[int, tuple[float, float]] | None = None, hidden: tuple[int, ...] = ()) -> po.Pose:
    pts = np.zeros((33, 3), np.float32)
    pts[:, 2] = 1.0
    for i, (x, y) in {**UPRIGHT, **(moves or {})}.items():
        pts[i, :2] = (x, y)
    for i in range(25, 33):  # legs: below the hips
        pts[i, :2] = (150, 400 + i)
    for i in hidden:
        pts[i, 2] = 0.1
    return po.Pose(pts, 0.9)


CALL = {po.RIGHT_WRIST: (115, 100), po.RIGHT_INDEX: (120, 85), po.RIGHT_ELBOW: (95, 240)}
CHIN_REST = {po.RIGHT_WRIST: (140, 130), po.RIGHT_INDEX: (145, 115), po.RIGHT_ELBOW: (110, 300)}
TEXTING = {po.NOSE: (150, 125), po.LEFT_WRIST: (165, 300), po.RIGHT_WRIST: (135, 300)}
FILMING = {po.RIGHT_WRIST: (140, 60), po.RIGHT_INDEX: (145, 40), po.RIGHT_ELBOW: (110, 160)}


def test_standing_facing_the_camera_shows_no_cue() -> None:
    cues = po.pose_cues([body()])
    assert (cues.call, cues.texting, cues.filming, cues.poses) == (False, False, False, 1)
    assert 0.0 <= po.head_pitch(body()) < 0.45


def test_a_wrist_at_the_ear_with_the_forearm_upright_is_a_call() -> None:
    assert po.call_cue(body(CALL))
    # The other arm, mirrored, is a call too.
    assert po.call_cue(body({po.LEFT_WRIST: (185, 100), po.LEFT_INDEX: (180, 85),
                             po.LEFT_ELBOW: (205, 240)}))


def test_a_hand_at_the_ear_with_the_elbow_dropped_or_raised_is_not_a_call() -> None:
    assert not po.call_cue(body(CHIN_REST))
    assert not po.call_cue(body({**CALL, po.RIGHT_ELBOW: (100, 300)}))  # elbow on the table
    assert not po.call_cue(body({**CALL, po.RIGHT_ELBOW: (60, 180)}))  # a hand on headphones


def test_a_hand_far_from_the_ears_is_not_a_call() -> None:
    assert not po.call_cue(body({**CALL, po.RIGHT_WRIST: (40, 150), po.RIGHT_INDEX: (30, 140)}))


def test_a_call_needs_the_wrist_and_elbow_seen() -> None:
    assert not po.call_cue(body(CALL, hidden=(po.RIGHT_WRIST,)))
    assert not po.call_cue(body(CALL, hidden=(po.RIGHT_ELBOW,)))


def test_head_down_to_both_hands_in_front_is_texting() -> None:
    assert po.head_pitch(body(TEXTING)) >= 0.45
    assert po.texting_cue(body(TEXTING))


@pytest.mark.parametrize(
    "change",
    [
        {po.NOSE: (150, 100)},  # head up: looking at the camera
        {po.LEFT_WRIST: (230, 320), po.RIGHT_WRIST: (70, 320)},  # hands apart
        {po.LEFT_WRIST: (165, 150), po.RIGHT_WRIST: (135, 150)},  # hands up at the face
        {po.LEFT_WRIST: (300, 300), po.RIGHT_WRIST: (280, 300)},  # hands off to one side
    ],
)
def test_texting_needs_head_down_and_both_hands_together_in_front(
    change: dict[int, tuple[float, float]],
) -> None:
    assert not po.texting_cue(body({**TEXTING, **change}))


def test_texting_needs_the_face_and_wrists_seen() -> None:
    assert not po.texting_cue(body(TEXTING, hidden=(po.LEFT_EAR,)))


def test_a_hand_held_up_in_front_of_the_face_is_filming() -> None:
    assert po.filming_cue(body(FILMING))


@pytest.mark.parametrize(
    "change",
    [
        {po.RIGHT_WRIST: (140, 200)},  # wrist below the shoulders
        {po.RIGHT_WRIST: (40, 60)},  # held up, but off to the side (a wave)
        {po.RIGHT_INDEX: (145, 130)},  # fingers below the nose: at the mouth or chin
        {po.RIGHT_ELBOW: (110, 320)},  # elbow low
    ],
)
def test_filming_needs_the_hand_up_in_front_of_the_face(change: dict[int, tuple[float, float]]) -> None:
    assert not po.filming_cue(body({**FILMING, **change}))


def test_a_profile_view_keeps_a_sensible_scale() -> None:
    """Shoulders overlap in profile: the scale falls back on the ears, never to zero."""
    p = body({po.LEFT_SHOULDER: (150, 170), po.RIGHT_SHOULDER: (150, 170)})
    assert po.body_scale(p) == pytest.approx(100.0)
    squashed = body({i: (150, 150) for i in range(33)})
    assert po.body_scale(squashed) == 1.0
    # Collapsed landmarks (a failed fit) would put every wrist "at an ear": no cue at all.
    assert po.pose_cues([squashed]) == po.PoseCues(False, False, False, 1)


def test_no_pose_no_cue() -> None:
    assert po.pose_cues([]) == po.PoseCues(False, False, False, 0)


def test_pose_bonuses_add_to_the_phone_score_above_the_floor_only() -> None:
    w = PhoneWeights(call_bonus=0.3, filming_bonus=0.2, pose_floor=0.05)
    call = po.PoseCues(call=True, texting=False, filming=False, poses=1)
    assert combine(0.1, 0.0, False, False, w, call) == pytest.approx(0.4)
    assert combine(0.0, 0.0, False, False, w, call) == 0.0  # no phone evidence at all
    free = PhoneWeights(call_bonus=0.3)  # floor 0: the cue alone counts
    assert combine(0.0, 0.0, False, False, free, call) == pytest.approx(0.3)
    both = po.PoseCues(call=True, texting=False, filming=True, poses=1)
    assert combine(0.9, 0.0, False, False, w, both) == 1.0  # capped
    assert combine(0.1, 0.0, False, False, w, None) == pytest.approx(0.1)


def test_the_default_weights_do_not_use_the_pose() -> None:
    """Shipped only if the held-out half shows it helps (docs/vision.md, "Pose cues")."""
    assert not PhoneWeights().uses_pose
    assert PhoneWeights(texting_bonus=0.1).uses_pose
