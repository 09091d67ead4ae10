"""Phone-use cues (geometry, combination) and the event rule (K of N within a window): no models."""

from __future__ import annotations

import pytest

from courtroom.vision.checks import FrameObservation
from courtroom.vision.debounce import DebounceConfig, Debouncer, FlagKind
from courtroom.vision.detector import Box, Detection
from courtroom.vision.hands import Hand
from courtroom.vision.phone import (
    PhoneWeights,
    at_ear,
    at_face,
    combine,
    heads,
    object_use_score,
)

HEAD = Box(100, 100, 200, 220)  # a face box, 100 x 120


def hand_at(cx: float, cy: float, size: float = 40) -> Hand:
    b = Box(cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)
    return Hand(b, tuple((cx, cy) for _ in range(21)), 0.9)


@pytest.mark.parametrize(
    ("centre", "ear", "face"),
    [
        ((215, 150), True, False),  # beside the right side of the head, at ear height
        ((80, 160), True, False),  # the left side
        ((150, 230), False, True),  # in front of the mouth and chin: a cup, a microphone
        ((150, 60), False, False),  # above the head
        ((215, 400), False, False),  # at the side but far below: a hand on the desk
        ((400, 150), False, False),  # far to the side: not this head
    ],
)
def test_hand_at_the_ear_versus_in_front_of_the_face(
    centre: tuple[float, float], ear: bool, face: bool
) -> None:
    h = hand_at(*centre)
    assert at_ear(h, HEAD) is ear
    assert at_face(h, HEAD) is face


def test_head_guessed_from_the_person_box_when_no_face_is_found() -> None:
    person = Box(0, 0, 200, 600)
    (head,) = heads([], [person])
    assert head.y0 == 0 and head.width == pytest.approx(120) and head.center[0] == 100
    assert heads([HEAD], [person]) == [HEAD]  # a face found wins
    assert heads([], []) == []


def test_combine_adds_the_ear_only_with_some_phone_evidence_and_clips() -> None:
    w = PhoneWeights(ear_bonus=0.2, ear_floor=0.1, face_penalty=0.1)
    assert combine(0.3, 0.0, ear=False, weights=w) == 0.3
    assert combine(0.3, 0.0, ear=True, weights=w) == 0.5
    assert combine(0.05, 0.0, ear=True, weights=w) == 0.05  # a hand at the ear alone: no phone
    assert combine(0.3, 0.0, ear=False, face=True, weights=w) == pytest.approx(0.2)
    assert combine(0.05, 0.0, ear=False, face=True, weights=w) == 0.0  # never below 0
    assert combine(0.95, 0.9, ear=True, weights=w) == 1.0  # never above 1
    assert combine(0.1, 0.6, ear=False, weights=PhoneWeights(in_hand_weight=0.5)) == 0.3


def test_a_phone_on_an_empty_desk_is_not_phone_use() -> None:
    phone = Detection(Box(500, 500, 520, 540), 0.8, 67)
    assert object_use_score([phone], [Box(0, 0, 100, 300)]) == 0.0
    assert object_use_score([phone], [Box(450, 300, 600, 700)]) == 0.8


def phone_obs(t: float, score: float | None) -> FrameObservation:
    return FrameObservation(t=t, faces=1, persons=1, phone_score=score, identity_distance=None)


def feed(d: Debouncer, series: list[tuple[float, float | None]]) -> list[tuple[float, bool]]:
    out = []
    for t, s in series:
        for f in d.feed(phone_obs(t, s)):
            if f.kind is FlagKind.PHONE:
                out.append((t, f.t1 is None))
    return out


def test_event_rule_k_of_n_within_a_window() -> None:
    cfg = DebounceConfig(phone_threshold=0.3, phone_k=2, phone_n=4, phone_window_s=3.0)
    # Two hits 1 s apart: an event.
    assert feed(Debouncer("p", config=cfg), [(0, 0.5), (1, 0.5)]) == [(1, True)]
    # A single hit, however strong, is a frame, not an event.
    assert feed(Debouncer("p", config=cfg), [(0, 0.9), (1, 0.0), (2, 0.0), (3, 0.0)]) == []
    # Two hits 5 s apart (sparse samples) fall outside the 3 s window: no event.
    assert feed(Debouncer("p", config=cfg), [(0, 0.9), (5, 0.9)]) == []
    # Missing checks (None) neither vote nor reset.
    assert feed(Debouncer("p", config=cfg), [(0, 0.5), (0.5, None), (1, 0.5)]) == [(1, True)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3/5/8", (3, 5, 8.0)),
        ("9/4/6", (4, 4, 6.0)),  # K is at most N
        ("0/0/0", (1, 1, 0.5)),  # clamped
        ("2/4", None),  # does not parse: the defaults
        ("a/b/c", None),
        ("2/4/\udcff", None),  # an undecodable byte (surrogate-escaped)
        ("2/4/1e999", (2, 4, 120.0)),  # inf is clamped
        ("2/4/nan", None),  # not a number: the defaults
        ("", None),
    ],
)
def test_phone_event_rule_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: tuple[int, int, float] | None
) -> None:
    """A value that does not parse leaves the defaults (None)."""
    monkeypatch.setenv("COURTROOM_PHONE_EVENT", value)
    c, d = DebounceConfig.from_env(), DebounceConfig()
    want = expected or (d.phone_k, d.phone_n, d.phone_window_s)
    assert (c.phone_k, c.phone_n, c.phone_window_s) == want
