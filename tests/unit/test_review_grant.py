"""Review grants (api_review.py): what a media element presents instead of a header. Forged,
tampered, expired, replayed into another hearing, or held by someone no longer on the bench:
refused with a 401/403 the gate logs."""

from __future__ import annotations

import time

import pytest
from domain_fixtures import scheduled

from courtroom.domain import events as e
from courtroom.domain.hearing import Actor, evolve
from courtroom.domain.presence import Presence, Reason
from courtroom.domain.roles import Role
from courtroom.server.api_review import GRANT_S, _from_grant, grant_for
from courtroom.server.gate import ApiError

JUDGE = Actor("judge", Role.JUDGE)


def _state(presence: Presence = Presence.IN_HEARING) -> object:
    state = evolve(scheduled(), e.ParticipantInvited("judge", Role.JUDGE, "Judge Wang"))
    return evolve(state, e.PresenceChanged("judge", presence, Reason.JOINED))


def test_a_grant_names_its_viewer() -> None:
    assert _from_grant("h1", grant_for("h1", JUDGE), _state()) == JUDGE  # type: ignore[arg-type]
    inspector = Actor("inspector", Role.INSPECTOR)
    assert _from_grant("h1", grant_for("h1", inspector), _state()) == inspector  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda g: g.replace("judge", "clerk", 1),  # another viewer
        lambda g: g.replace(".judge.", ".inspector.", 1),  # another role
        lambda g: g[:-1] + ("0" if g[-1] != "0" else "1"),  # tampered signature
        lambda g: ".".join(g.split(".")[:3]),  # no signature
        lambda g: g + ".x",
        lambda g: "",
        lambda g: "\ud800.judge.1.x",  # a lone surrogate
        lambda g: "a." * 10_000,
        lambda g: "judge.judge.99999999999999999999.x",  # an absurd expiry
    ],
)
def test_forged_or_mangled_grants_are_refused(mangle: object) -> None:
    grant = mangle(grant_for("h1", JUDGE))  # type: ignore[operator]
    with pytest.raises(ApiError) as refused:
        _from_grant("h1", grant, _state())  # type: ignore[arg-type]
    assert refused.value.status == 401


def test_expired_other_hearing_and_dismissed_viewer() -> None:
    old = grant_for("h1", JUDGE, now=time.time() - GRANT_S - 1)
    with pytest.raises(ApiError, match="expired"):
        _from_grant("h1", old, _state())  # type: ignore[arg-type]
    with pytest.raises(ApiError):
        _from_grant("h2", grant_for("h1", JUDGE), _state())  # type: ignore[arg-type]
    with pytest.raises(ApiError) as gone:
        _from_grant("h1", grant_for("h1", JUDGE), _state(Presence.REMOVED))  # type: ignore[arg-type]
    assert gone.value.status == 403
