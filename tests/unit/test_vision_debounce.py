"""The debouncer on synthetic observation series: table-driven, no models."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from courtroom.vision.checks import FrameObservation
from courtroom.vision.debounce import (
    DebounceConfig,
    Debouncer,
    Flag,
    FlagKind,
    debounce,
    snapshot_jpeg,
)
from courtroom.vision.loudness import LoudnessObservation

VERSIONS = {"detector": "test", "faces": "test"}


def obs(
    t: float,
    faces: int | None = 1,
    persons: int | None = 1,
    phone: float | None = 0.0,
    dist: float | None = None,
) -> FrameObservation:
    return FrameObservation(
        t=t, faces=faces, persons=persons, phone_score=phone, identity_distance=dist
    )


def present(ts: list[float]) -> list[FrameObservation]:
    return [obs(t) for t in ts]


def empty(ts: list[float]) -> list[FrameObservation]:
    return [obs(t, faces=0, persons=0) for t in ts]


def kinds(flags: list[Flag]) -> list[FlagKind]:
    return [f.kind for f in flags]


def test_single_bad_frame_raises_no_flag() -> None:
    series = [
        *present([0, 1, 2]),
        obs(3, faces=0, persons=0),  # one empty frame
        obs(4, faces=2, persons=2),  # one frame with two people
        obs(5, phone=0.9),  # one phone frame
        obs(6, dist=0.9),  # one mismatching identity sample
        *present([7, 8, 9, 10]),
    ]
    assert debounce("p1", series) == []


def test_person_then_empty_for_5_s_gives_exactly_one_left_frame_flag() -> None:
    ts = [i * 0.5 for i in range(41)]  # 2 fps for 20 s
    series = [obs(t) if t < 5 or t >= 10 else obs(t, faces=0, persons=0) for t in ts]
    d = Debouncer("p1", model_versions=VERSIONS)
    opened: list[Flag] = []
    closed: list[Flag] = []
    for o in series:
        for f in d.feed(o):
            (opened if f.t1 is None else closed).append(f)
    closed += d.finish()
    assert kinds(opened) == [FlagKind.LEFT_FRAME]
    assert len(closed) == 1
    flag = closed[0]
    assert flag.t0 == 5.0 and flag.t1 == 10.0
    assert opened[0].evidence_frame_t == 8.0  # 3 s after the first empty frame
    assert flag.participant_id == "p1" and dict(flag.model_versions) == VERSIONS
    assert flag.confidence == pytest.approx(1.0)


def test_flag_stays_open_through_one_good_frame_and_closes_at_stream_end() -> None:
    series = [*present([0]), *empty([1, 2, 3, 4, 5]), obs(6), *empty([7, 8, 9])]
    flags = debounce("p1", series)
    assert len(flags) == 1
    assert (flags[0].kind, flags[0].t0, flags[0].t1) == (FlagKind.LEFT_FRAME, 1, 9)


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        # two people for 3 s at 1 fps
        (
            [obs(0), *[obs(t, faces=2, persons=2) for t in (1, 2, 3, 4)], *present([5, 6, 7])],
            [(FlagKind.EXTRA_PERSON, 1, 5)],
        ),
        # second person only 1 s: no flag
        ([obs(0), obs(1, faces=2, persons=2), obs(2, faces=2, persons=2), *present([3, 4, 5])], []),
        # phone 2 of 4 samples
        (
            [obs(0), obs(1, phone=0.5), obs(2), obs(3, phone=0.6), *present([4, 5, 6, 7])],
            [(FlagKind.PHONE, 1, 4)],
        ),
        # phone score under the threshold does not count
        ([obs(t, phone=0.2) for t in range(8)], []),
        # identity mismatch persisting 4 s (checked every 2 s)
        (
            [
                obs(0, dist=0.4),
                obs(2, dist=0.8),
                obs(4, dist=0.8),
                obs(6, dist=0.9),
                obs(8, dist=0.3),
                obs(10, dist=0.35),
            ],
            [(FlagKind.IDENTITY_MISMATCH, 2, 8)],
        ),
        # faces check not run (None) neither opens nor closes LEFT_FRAME
        (
            [*empty([0, 1]), obs(2, faces=None, persons=None), *empty([3, 4]), *present([5, 6, 7])],
            [(FlagKind.LEFT_FRAME, 0, 5)],
        ),
    ],
)
def test_table(
    series: list[FrameObservation], expected: list[tuple[FlagKind, float, float]]
) -> None:
    assert [(f.kind, f.t0, f.t1) for f in debounce("p", series)] == expected


def test_loud_noise_needs_sustained_level() -> None:
    def lo(t: float, db: float) -> LoudnessObservation:
        return LoudnessObservation(t, 0.25, db, db + 3, 0.0)

    quiet = [lo(i * 0.25, -30) for i in range(8)]
    blip = [*quiet, lo(2.0, -5), *[lo(2.25 + i * 0.25, -30) for i in range(8)]]
    assert debounce("p", blip) == []
    shout = [
        *quiet,
        *[lo(2.0 + i * 0.25, -6) for i in range(4)],
        *[lo(3.0 + i * 0.25, -30) for i in range(8)],
    ]
    flags = debounce("p", shout)
    assert [(f.kind, f.t0, f.t1) for f in flags] == [(FlagKind.LOUD_NOISE, 2.0, 3.0)]


def test_deterministic() -> None:
    series = [*present([0, 1]), *empty([2, 3, 4, 5, 6]), *present([7, 8, 9])]
    cfg = DebounceConfig(left_frame_s=2.0)
    assert debounce("p", series, config=cfg) == debounce("p", series, config=cfg)


def test_snapshot_jpeg_is_small_and_hashed() -> None:
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    frame[100:300, 200:400] = (200, 30, 30)
    snap = snapshot_jpeg(frame, max_side=320)
    assert snap.sha256 == hashlib.sha256(snap.jpeg).hexdigest()
    img = Image.open(io.BytesIO(snap.jpeg))
    assert img.format == "JPEG" and max(img.size) == 320 and len(snap.jpeg) < 20_000
