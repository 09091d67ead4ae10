"""The discipline watch when a watched participant leaves mid-sample (issue #11 f).

Between the supervisor's check and a sample, the participant may be dismissed or leave: the
sample must then do nothing, not raise ``KeyError: Presence.DISMISSED``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from courtroom.domain.hearing import HearingState, ParticipantState
from courtroom.domain.presence import Presence
from courtroom.domain.roles import Role
from courtroom.server.discipline import HearingWatch, WatchConfig


class _Tap:
    def latest(self) -> tuple[Any, float]:
        return object(), 1.0


def _watch(presence: Presence) -> tuple[HearingWatch, Any]:
    p = ParticipantState("p-w", Role.WITNESS, "W", presence=presence, connected=True)
    state = HearingState("h-1", participants={"p-w": p})
    runtime = SimpleNamespace(hearing_id="h-1", state=state)
    hub = SimpleNamespace(
        video_tap=lambda pid: _Tap(), clock=SimpleNamespace(at=lambda at: at), peer=lambda pid: object()
    )
    service = SimpleNamespace(config=WatchConfig(), cheap_checks=frozenset())
    room = SimpleNamespace(runtime=runtime, hub=hub)
    worker = SimpleNamespace()
    return HearingWatch(service, room), worker  # type: ignore[arg-type]


@pytest.mark.parametrize("presence", [Presence.DISMISSED, Presence.LEFT, Presence.REMOVED])
async def test_a_sample_after_the_participant_went_is_a_no_op(presence: Presence) -> None:
    watch, worker = _watch(presence)
    assert await watch._sample(worker, "p-w", 0.5) == 0.5
    assert not watch._watched(watch.runtime.state.participants["p-w"])
