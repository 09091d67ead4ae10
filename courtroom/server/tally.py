"""Process-wide counts that outlive the objects that made them, for ``/metrics``.

A leaf module (no imports from the server) so the runtime and the refusal log can count
here without importing the metrics route. ``server/prometheus.py`` exports them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    refused_commands: Counter[str] = field(default_factory=Counter)  # by refusal code
    refused_credentials: Counter[str] = field(default_factory=Counter)  # by reason
    retired: Counter[str] = field(default_factory=Counter)  # closed rooms' media totals
    peer_bytes: dict[int, int] = field(default_factory=dict)  # id(peer) -> bytes sent, last seen

    def refused_command(self, code: str) -> None:
        self.refused_commands[code] += 1

    def refused_credential(self, reason: str) -> None:
        self.refused_credentials[reason] += 1


TALLY = Tally()
