"""Phases of a hearing and the moves between them."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    SCHEDULED = "scheduled"
    OPENING = "opening"  # identity checks, discipline announcement
    INVESTIGATION = "investigation"
    EVIDENCE = "evidence"
    DEBATE = "debate"
    FINAL_STATEMENTS = "final_statements"
    CLOSED = "closed"
    SEALED = "sealed"


OPEN_PHASES: frozenset[Phase] = frozenset(
    {Phase.OPENING, Phase.INVESTIGATION, Phase.EVIDENCE, Phase.DEBATE, Phase.FINAL_STATEMENTS}
)

# Moves between open phases (ChangePhase). Courts go forward, and may step back to resume
# investigation or evidence after debate has begun. Opening, closing, reopening and sealing
# have their own commands because they carry their own permissions.
PHASE_MOVES: dict[Phase, frozenset[Phase]] = {
    Phase.OPENING: frozenset({Phase.INVESTIGATION}),
    Phase.INVESTIGATION: frozenset({Phase.EVIDENCE}),
    Phase.EVIDENCE: frozenset({Phase.INVESTIGATION, Phase.DEBATE}),
    Phase.DEBATE: frozenset({Phase.INVESTIGATION, Phase.EVIDENCE, Phase.FINAL_STATEMENTS}),
    Phase.FINAL_STATEMENTS: frozenset({Phase.DEBATE}),
}
