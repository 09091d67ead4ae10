"""The discipline watch's pace: full rate after a cue, a back-off while calm, a motion gate.

Real pictures from tests/fixtures (tests/scenes.py) as VP8-free ``av.VideoFrame`` in yuv420p,
the format the video tap hands over."""

from __future__ import annotations

from typing import Any

import av
import numpy as np
import pytest
import scenes

from courtroom.server.watch_pace import PaceConfig, WatchPace, changed_share, luma_thumb

CALM = ("1 face", "1 person", False)


def frame(rgb: Any) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
        format="yuv420p"
    )


def run(pace: WatchPace, ticks: list[tuple[float, Any, tuple[object, ...]]]) -> list[float]:
    """Feeds ``(time, thumb, signature)`` ticks; returns the times whose frame was checked."""
    checked = []
    for now, thumb, signature in ticks:
        if pace.due(now, thumb):
            checked.append(now)
            pace.observed(now, thumb, signature)
    return checked


def test_calm_backs_off_after_the_hot_window() -> None:
    pace = WatchPace(PaceConfig(calm_period_s=3.0, hot_s=5.0))
    still = luma_thumb(frame(scenes.letterbox(scenes.man(2))))
    checked = run(pace, [(float(t), still, CALM) for t in range(20)])
    # The first check is a cue (someone new): every tick for 5 s, then one every 3 s.
    assert checked == [0, 1, 2, 3, 4, 7, 10, 13, 16, 19]
    assert (pace.checked, pace.skipped) == (10, 10)


def test_a_changed_observation_is_a_cue() -> None:
    pace = WatchPace(PaceConfig(calm_period_s=3.0, hot_s=5.0))
    still = luma_thumb(frame(scenes.letterbox(scenes.man(2))))
    ticks = [(float(t), still, CALM) for t in range(8)]
    ticks += [(float(t), still, (0, 0, False)) for t in range(8, 20)]  # e.g. the face is lost
    # Calm at 7 s; the back-off check at 10 s sees the change: every tick again for 5 s.
    assert run(pace, ticks) == [0, 1, 2, 3, 4, 7, 10, 11, 12, 13, 14, 17]


def test_the_motion_gate_checks_at_once_when_someone_leaves() -> None:
    pace = WatchPace(PaceConfig(calm_period_s=3.0, hot_s=5.0))
    person = luma_thumb(frame(scenes.letterbox(scenes.man(2))))
    empty = luma_thumb(frame(scenes.letterbox(scenes.empty_room())))
    run(pace, [(float(t), person, CALM) for t in range(6)])  # calm since 5 s
    assert not pace.hot(6.0) and not pace.due(6.0, person)
    assert pace.due(6.0, empty) and pace.motion_cues == 1 and pace.hot(6.0)


@pytest.mark.parametrize(
    ("after", "large"),
    [
        (lambda: scenes.empty_room(), True),  # left the frame
        (lambda: scenes.phone_held_up(scenes.man(2)), True),  # a phone held up
        (lambda: scenes.man(2), False),  # the same picture
    ],
)
def test_motion_gate_on_real_pictures(after: Any, large: bool) -> None:
    config = PaceConfig()
    before = luma_thumb(frame(scenes.letterbox(scenes.man(2))))
    now = luma_thumb(frame(scenes.letterbox(after())))
    assert before is not None and now is not None
    share = changed_share(now, before, config.motion_level)
    assert (share >= config.motion_share) is large, share


def test_a_talking_head_is_not_a_large_change() -> None:
    """The webcam clip of a man looking at the camera: frames 1 and 3 s apart stay under the
    gate, so a participant who only moves a little is checked at the back-off rate."""
    config = PaceConfig()
    frames = scenes.man_frames(6)  # every 6th frame of a 24 fps clip: 0.25 s apart
    thumbs = [luma_thumb(frame(scenes.letterbox(f))) for f in frames]
    shares = [
        changed_share(b, a, config.motion_level)  # type: ignore[arg-type]
        for lag in (4, 12)
        for a, b in zip(thumbs, thumbs[lag:], strict=False)
    ]
    assert shares and max(shares) < config.motion_share, max(shares)


def test_exposure_shift_is_not_a_change_and_a_new_size_is() -> None:
    a = luma_thumb(frame(scenes.letterbox(scenes.man(2))))
    assert a is not None
    assert changed_share(a + np.float32(40.0), a, 24.0) == 0.0
    assert changed_share(a[:10], a, 24.0) == 1.0


def test_thumbs_of_odd_frames() -> None:
    assert luma_thumb(object()) is None
    assert luma_thumb(np.zeros((4, 4), np.uint8)) is None  # not RGB
    assert luma_thumb(np.zeros((4, 4, 3), np.float32)) is None
    tiny = luma_thumb(np.zeros((1, 1, 3), np.uint8))
    assert tiny is not None and tiny.shape == (1, 1)
    rgb48 = av.VideoFrame(64, 48, "rgb48le")
    assert luma_thumb(rgb48) is None  # not YUV: the pace checks such frames every tick
    odd = luma_thumb(av.VideoFrame(33, 17, "yuv420p"))
    assert odd is not None and odd.size > 0


def test_no_thumb_means_check_and_off_means_every_tick() -> None:
    pace = WatchPace(PaceConfig(hot_s=0.0))
    assert run(pace, [(float(t), None, CALM) for t in range(6)]) == [0, 1, 2, 3, 4, 5]
    off = WatchPace(PaceConfig(enabled=False))
    still = luma_thumb(frame(scenes.letterbox(scenes.man(2))))
    assert len(run(off, [(float(t), still, CALM) for t in range(20)])) == 20


def test_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTROOM_VISION_PACE", "off")
    monkeypatch.setenv("COURTROOM_VISION_CALM_S", "999")
    config = PaceConfig.from_env()
    assert not config.enabled and config.calm_period_s == 10.0
    for raw in ("nan", "abc", "\udc80", "3" * 10_000):  # not a number: logged, the default
        monkeypatch.setenv("COURTROOM_VISION_CALM_S", raw)
        assert PaceConfig.from_env().calm_period_s == PaceConfig().calm_period_s == 3.0


class _Worker:
    """Stands in for the model threads only: answers what the picture shows (a person, or an
    empty room), and counts the frames it was sent."""

    def __init__(self) -> None:
        self.model_versions = {"detector": "test", "faces": "test"}
        self.frames = 0
        self.empty = False

    async def observe(self, pid: str, t: float, rgb: Any, **kw: Any) -> Any:
        from courtroom.vision.checks import FrameObservation

        self.frames += 1
        n = 0 if self.empty else 1
        return FrameObservation(t, faces=n, persons=n, phone_score=0.0, identity_distance=None)


def stand_in_watch(participant: Any, clock: list[float], shown: list[Any], tmp_path: Any,
                   monkeypatch: pytest.MonkeyPatch, **service: Any) -> tuple[Any, list[Any]]:
    """A real ``HearingWatch`` over stand-ins for the hearing runtime (it records what the watch
    logs), the hub (its tap shows ``shown[0]``, decoded at ``clock[0]``) and the service;
    ``discipline``'s clock is ``clock``. Returns the watch and the events it recorded."""
    from types import SimpleNamespace

    from courtroom.domain.hearing import HearingState
    from courtroom.server import discipline
    from courtroom.server.discipline import HearingWatch, WatchConfig
    from courtroom.vision.checks import CHEAP_CHECKS

    monkeypatch.setattr(discipline, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    recorded: list[Any] = []

    async def record(events: list[Any]) -> None:
        recorded.extend(events)

    pid = participant.participant_id
    runtime = SimpleNamespace(
        hearing_id="h-1", state=HearingState("h-1", participants={pid: participant}), record=record
    )
    tap = SimpleNamespace(latest=lambda: (shown[0], clock[0]))
    hub = SimpleNamespace(video_tap=lambda pid: tap, clock=SimpleNamespace(at=lambda at: at))
    services = SimpleNamespace(config=WatchConfig(), cheap_checks=CHEAP_CHECKS,
                               evidence_root=tmp_path, _worker=None, **service)
    watch = HearingWatch(services, SimpleNamespace(runtime=runtime, hub=hub))  # type: ignore[arg-type]
    return watch, recorded


async def test_the_watch_sends_fewer_frames_and_still_raises_the_flag(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HearingWatch._sample with the real pace and debouncer, one tick a second on a fake clock:
    a calm participant's frames reach the checker at the back-off rate, and leaving the frame
    still opens ``left_frame`` after its 3 s hold, counted from the first empty tick."""
    from courtroom.domain.hearing import ParticipantState
    from courtroom.domain.presence import Presence
    from courtroom.domain.roles import Role

    clock = [0.0]
    person, empty = (frame(scenes.letterbox(p)) for p in (scenes.man(2), scenes.empty_room()))
    shown = [person]
    p = ParticipantState("p-w", Role.WITNESS, "W", presence=Presence.IN_HEARING, connected=True)
    watch, recorded = stand_in_watch(p, clock, shown, tmp_path, monkeypatch)
    worker = _Worker()
    last: float | None = None
    for tick in range(30):
        clock[0] = float(tick)
        if tick == 20:
            shown[0], worker.empty = empty, True  # the witness walks out
        last = await watch._sample(worker, "p-w", last)  # type: ignore[arg-type]
        if tick == 19:
            assert worker.frames == 10  # 0-4 (first sight), then 7, 10, 13, 16, 19: calm
    raised = [e for e in recorded if type(e).__name__ == "FlagRaised"]
    assert [e.kind for e in raised] == ["left_frame"]
    assert raised[0].t0 == 20.0 and raised[0].evidence_t == 23.0  # seen at once, 3 s hold
    assert watch.paces["p-w"].motion_cues == 1
