"""Identity at the gate, signing keys and signatures, the seal, and flag review."""

from __future__ import annotations

from domain_fixtures import NOW, actor, add_target, in_phase, scheduled, with_cast

from courtroom.domain import commands as c
from courtroom.domain import events as e
from courtroom.domain.errors import Refusal, Rejected
from courtroom.domain.hearing import HearingState, decide, evolve
from courtroom.domain.phases import Phase
from courtroom.domain.presence import Presence
from courtroom.domain.visibility import may_see

PHOTO = "a" * 64


def run(state: HearingState, command: c.Command, who: str) -> HearingState:
    out = decide(state, command, actor(who), NOW)
    assert isinstance(out, list), out
    for ev in out:
        state = evolve(state, ev)
    return state


def refused(state: HearingState, command: c.Command, who: str, code: Refusal) -> str:
    out = decide(state, command, actor(who), NOW)
    assert isinstance(out, Rejected) and out.code is code, out
    return out.reason


def test_a_failed_match_keeps_the_participant_in_the_lobby_until_the_judge_overrides() -> None:
    state = add_target(in_phase(with_cast(scheduled()), Phase.OPENING), Presence.LOBBY)
    state = run(state, c.RegisterIdPhoto("target", PHOTO), "clerk")
    reason = refused(state, c.Admit("target"), "clerk", Refusal.IDENTITY_UNCONFIRMED)
    assert "not yet checked" in reason
    state = evolve(state, e.IdentityChecked("target", "entry", False, 0.68, "the face does not match the ID photo", "dlib"))
    reason = refused(state, c.Admit("target"), "clerk", Refusal.IDENTITY_UNCONFIRMED)
    assert "does not match" in reason and "judge may override" in reason
    refused(state, c.OverrideIdentity("target", "known to the court"), "clerk", Refusal.FORBIDDEN)
    refused(state, c.OverrideIdentity("target", "  "), "judge", Refusal.INVALID)
    state = run(state, c.OverrideIdentity("target", "known to the court"), "judge")
    state = run(state, c.Admit("target"), "clerk")
    assert state.participants["target"].presence is Presence.WAITING_ROOM


def test_a_witness_is_checked_again_before_testimony() -> None:
    state = add_target(in_phase(with_cast(scheduled()), Phase.EVIDENCE), Presence.LOBBY)
    state = run(state, c.RegisterIdPhoto("target", PHOTO), "clerk")
    state = evolve(state, e.IdentityChecked("target", "entry", True, 0.38, "match", "dlib"))
    state = run(state, c.Admit("target"), "clerk")
    # Someone else sits down at the kiosk before the call: the second check fails.
    state = evolve(state, e.IdentityChecked("target", "testimony", False, 0.74, "the face does not match the ID photo", "dlib"))
    refused(state, c.CallIn("target"), "judge", Refusal.IDENTITY_UNCONFIRMED)
    state = evolve(state, e.IdentityChecked("target", "testimony", True, 0.41, "match", "dlib"))
    state = run(state, c.CallIn("target"), "judge")
    assert state.participants["target"].presence is Presence.IN_HEARING


def test_without_an_id_photo_admission_is_not_gated() -> None:
    state = in_phase(with_cast(scheduled(), {"plaintiff": Presence.LOBBY}), Phase.OPENING)
    state = run(state, c.Admit("plaintiff"), "judge")
    assert state.participants["plaintiff"].presence is Presence.IN_HEARING


def test_signing_needs_a_key_bound_after_the_identity_check() -> None:
    state = in_phase(with_cast(scheduled()), Phase.EVIDENCE)
    state = evolve(state, e.IdPhotoRegistered("witness", PHOTO))
    refused(state, c.RegisterSigningKey('{"kty":"EC"}'), "witness", Refusal.IDENTITY_UNCONFIRMED)
    state = evolve(state, e.IdentityChecked("witness", "entry", True, 0.4, "match", "dlib"))
    refused(state, c.SignDocument("oath", "ab" * 32, "sig", "cd" * 32), "witness", Refusal.NO_SIGNING_KEY)
    state = run(state, c.RegisterSigningKey('{"kty":"EC","crv":"P-256"}'), "witness")
    refused(state, c.RegisterSigningKey('{"kty":"EC","crv":"P-256","x":"other"}'), "witness", Refusal.ALREADY_EXISTS)
    state = run(state, c.SignDocument("oath", "ab" * 32, "sig", "cd" * 32), "witness")
    assert state.participants["witness"].signed == {"oath"}
    refused(state, c.SignDocument("oath", "ab" * 32, "sig", "cd" * 32), "witness", Refusal.ALREADY_EXISTS)
    # The record can only be signed once the transcript is frozen.
    refused(state, c.SignDocument("record", "ab" * 32, "sig", "cd" * 32), "witness", Refusal.WRONG_PHASE)
    refused(state, c.SignDocument("verdict", "ab" * 32, "sig", "cd" * 32), "witness", Refusal.INVALID)


def test_close_sign_refuse_seal() -> None:
    state = in_phase(with_cast(scheduled()), Phase.DEBATE)
    for pid in ("judge", "plaintiff", "defendant"):
        state = evolve(state, e.SigningKeyRegistered(pid, '{"kty":"EC"}'))
    state = run(state, c.CloseHearing(), "judge")
    state = run(state, c.SignDocument("record", "ab" * 32, "s1", "cd" * 32), "plaintiff")
    state = run(state, c.RefuseToSign("record", "line 12 misquotes me"), "defendant")
    refused(state, c.SignDocument("record", "ab" * 32, "s2", "cd" * 32), "defendant", Refusal.ALREADY_EXISTS)
    refused(state, c.SealRecord("ab" * 32, "ef" * 32), "clerk", Refusal.FORBIDDEN)
    state = run(state, c.SealRecord("ab" * 32, "ef" * 32), "judge")
    assert state.phase is Phase.SEALED and state.sealed_sha256 == "ef" * 32
    refused(state, c.ReopenHearing("too late"), "judge", Refusal.INVALID_TRANSITION)


def test_flags_are_reviewed_by_inspectors_and_hidden_from_the_flagged() -> None:
    state = in_phase(with_cast(scheduled()), Phase.EVIDENCE)
    raised = e.FlagRaised("F1", "defendant", "phone", 12.0, 0.8, {"yolox": "nano"}, "ab" * 32, 12.5)
    state = evolve(state, raised)
    state = evolve(state, e.FlagClosed("F1", 19.0))
    assert not may_see(state, "defendant", raised, "server")
    assert may_see(state, "judge", raised, "server")
    refused(state, c.ReviewFlag("F1", "dismissed", "water bottle"), "judge", Refusal.FORBIDDEN)
    refused(state, c.ReviewFlag("F1", "maybe", ""), "inspector", Refusal.INVALID)
    refused(state, c.ReviewFlag("F9", "confirmed", ""), "inspector", Refusal.INVALID)
    state = run(state, c.ReviewFlag("F1", "dismissed", "water bottle"), "inspector")
    flag = state.flags["F1"]
    assert (flag.t0, flag.t1, flag.disposition, flag.note) == (12.0, 19.0, "dismissed", "water bottle")
