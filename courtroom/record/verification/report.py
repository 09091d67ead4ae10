"""A verification report: named checks, each ok, failed, warning, skipped or n/a."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# warning: nothing is proven wrong, but a reader must know (a local TSA, a missing answer).
Status = Literal["ok", "failed", "warning", "skipped", "not applicable"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    message: str

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass
class VerificationReport:
    source: str = ""
    checks: list[Check] = field(default_factory=list)
    # What the file says, for a human-readable report (html_report): case, signers,
    # refusals, timestamps, trust root. Read from the file: hostile until escaped.
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and not any(c.failed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.failed]

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(c.name == name for c in self.checks)

    def add(self, name: str, status: Status, message: str) -> None:
        self.checks.append(Check(name, status, message))

    def fail(self, name: str, message: str) -> None:
        self.add(name, "failed", message)


_MARK: dict[Status, str] = {
    "ok": " OK ",
    "failed": "FAIL",
    "warning": "WARN",
    "skipped": "SKIP",
    "not applicable": " -- ",
}


def render_report(report: VerificationReport) -> str:
    lines = [f"courtroom verify: {report.source}" if report.source else "courtroom verify"]
    for c in report.checks:
        lines.append(f"  [{_MARK[c.status]}] {c.name}: {c.message}")
    failed = report.failures
    lines.append(
        "RESULT: VALID — every check passed"
        if report.ok
        else f"RESULT: INVALID — {len(failed)} check(s) failed: "
        + ", ".join(c.name for c in failed)
    )
    return "\n".join(lines)


def first_few(problems: list[str], n: int = 3) -> str:
    more = f" (+{len(problems) - n} more)" if len(problems) > n else ""
    return "; ".join(problems[:n]) + more
