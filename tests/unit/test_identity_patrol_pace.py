"""The identity patrol's schedule in the hearing (courtroom/server/discipline.py).

``HearingWatch._sample`` with the real pace, debouncer and identity verdicts, one tick a second
on a fake clock; only the models are stood in for (``_Worker`` answers with the distance the
scene calls for). A participant who matched and stays calm is re-checked every
``identity_calm_s``; a large change of picture (someone else sitting down) brings the next
round back within ``identity_every_s`` of the last, and a sustained mismatch still opens
``identity_mismatch``. The waiting room keeps its 10 s rounds.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import scenes
from test_watch_pace import frame, stand_in_watch

from courtroom.domain.hearing import ParticipantState
from courtroom.domain.presence import Presence
from courtroom.domain.roles import Role
from courtroom.server.discipline import HearingWatch, WatchConfig
from courtroom.vision.checks import Check, FrameObservation


class _Worker:
    """Stands in for the models: one face, at the distance the current scene has from the ID
    photo (the witness: 0.3; someone else: 0.8); counts identity rounds' frames."""

    def __init__(self) -> None:
        self.model_versions = {"detector": "test", "faces": "test"}
        self.distance = 0.3
        self.identity_at: list[float] = []

    async def observe(self, pid: str, t: float, rgb: Any, *, checks: frozenset[Check],
                      reference: Any = None) -> FrameObservation:
        identity = Check.IDENTITY in checks and reference is not None
        if identity:
            self.identity_at.append(t)
        return FrameObservation(t, faces=1, persons=1, phone_score=0.0,
                                identity_distance=self.distance if identity else None,
                                checks=checks)


def watch_for(presence: Presence, monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
              clock: list[float], shown: list[Any]) -> tuple[Any, list[Any]]:
    """The witness, with an ID photo whose reference the stand-in identity store holds."""
    p = ParticipantState("p-w", Role.WITNESS, "W", presence=presence, connected=True,
                         id_photo="sha-photo")
    identity = SimpleNamespace(reference=lambda hid, pid: np.zeros(128))
    return stand_in_watch(p, clock, shown, tmp_path, monkeypatch, identity=identity)


async def run(watch: HearingWatch, worker: _Worker, clock: list[float], ticks: range,
              change: dict[int, Any] | None = None, shown: list[Any] | None = None) -> None:
    last: float | None = None
    for tick in ticks:
        clock[0] = float(tick)
        if change and tick in change and shown is not None:
            shown[0], worker.distance = change[tick]
        last = await watch._sample(worker, "p-w", last)  # type: ignore[arg-type]


async def test_a_calm_witness_who_matched_is_rechecked_every_30_s(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, shown = [0.0], [frame(scenes.letterbox(scenes.man(2)))]
    watch, recorded = watch_for(Presence.IN_HEARING, monkeypatch, tmp_path, clock, shown)
    worker = _Worker()
    await run(watch, worker, clock, range(125))
    assert worker.identity_at == [0.0, 30.0, 60.0, 90.0, 120.0]  # was every 10 s: 13 rounds
    checked = [e for e in recorded if type(e).__name__ == "IdentityChecked"]
    assert [(e.stage, e.matched) for e in checked] == [("patrol", True)]  # logged once


async def test_someone_else_sitting_down_is_checked_at_once_and_flagged(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 45 s the picture changes (the empty room stands in for a large change of scene)
    and the face no longer matches: the next round comes at once (not at 60 s), and the
    mismatch, sustained, opens the flag."""
    clock = [0.0]
    shown = [frame(scenes.letterbox(scenes.man(2)))]
    other = frame(scenes.letterbox(scenes.empty_room()))
    watch, recorded = watch_for(Presence.IN_HEARING, monkeypatch, tmp_path, clock, shown)
    worker = _Worker()
    await run(watch, worker, clock, range(80), change={45: (other, 0.8)}, shown=shown)
    after = [t for t in worker.identity_at if t >= 45]
    assert after and after[0] <= 47.0, worker.identity_at  # seen by the motion gate at 45
    raised = [e for e in recorded if type(e).__name__ == "FlagRaised"]
    flag = next(e for e in raised if e.kind == "identity_mismatch")
    assert flag.t0 <= 47.0 and flag.evidence_t <= 60.0, (flag.t0, flag.evidence_t)


async def test_the_waiting_room_keeps_its_10_s_rounds(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The domain needs a fresh check before a call-in: testimony rounds stay every 10 s."""
    clock, shown = [0.0], [frame(scenes.letterbox(scenes.man(2)))]
    watch, _ = watch_for(Presence.WAITING_ROOM, monkeypatch, tmp_path, clock, shown)
    worker = _Worker()
    await run(watch, worker, clock, range(45))
    assert worker.identity_at == [0.0, 10.0, 20.0, 30.0, 40.0]


@pytest.mark.parametrize(("raw", "expected"), [
    ("", 30.0), ("10", 10.0), ("0", 1.0), ("100000", 300.0), ("-5", 1.0), ("inf", 300.0),
    ("nan", 30.0), ("abc", 30.0), ("\udc80", 30.0), ("9" * 10_000, 30.0), ("1e999", 300.0),
    ("１０", 10.0), (" 12.5 ", 12.5),
])
def test_the_calm_period_setting(raw: str, expected: float, monkeypatch: pytest.MonkeyPatch,
                                 caplog: pytest.LogCaptureFixture) -> None:
    """Out of range is clamped; not a number is logged (not copied whole) and the default used,
    never a crash at start-up."""
    monkeypatch.setenv("COURTROOM_IDENTITY_CALM_S", raw)
    with caplog.at_level(logging.WARNING):
        assert WatchConfig.from_env().identity_calm_s == expected
    warned = [r.getMessage() for r in caplog.records if "COURTROOM_IDENTITY_CALM_S" in r.getMessage()]
    assert len(warned) == (1 if expected == 30.0 and raw.strip() else 0)
    assert all(len(w) < 200 for w in warned)


def test_the_other_watch_numbers_do_not_crash_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTROOM_VISION_FPS", "fast")
    monkeypatch.setenv("COURTROOM_IDENTITY_RECHECK_S", "\udc80")
    config = WatchConfig.from_env()
    assert (config.fps, config.identity_every_s) == (1.0, 10.0)
    monkeypatch.setenv("COURTROOM_VISION_FPS", "50")
    monkeypatch.setenv("COURTROOM_IDENTITY_RECHECK_S", "0.2")
    config = WatchConfig.from_env()
    assert (config.fps, config.identity_every_s) == (5.0, 1.0)
