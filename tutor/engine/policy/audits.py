"""Audits: `audit()` asks whether access is exactly what a step asked for, and the
`AccessReport` names, in a learner's words, the statement that grants too much."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tutor.engine.policy.document import Decision, Policy, evaluate
from tutor.engine.policy.principals import Request

# --- audits: exactly what the step asked for, no wider ----------------------------------


@dataclass
class AccessReport:
    missing: list[tuple[Request, Decision]] = field(default_factory=list)  # needed, denied
    excess: list[tuple[Request, Decision]] = field(default_factory=list)  # forbidden, allowed

    @property
    def ok(self) -> bool:
        return not self.missing and not self.excess

    def findings(self, limit: int = 2) -> list[str]:
        """Learner-facing sentences, the worst first: over-broad grants, then gaps."""
        lines: list[str] = []
        seen: set[int] = set()
        for request, decision in self.excess:
            statement = decision.statement
            key = statement.index if statement else 0
            if key in seen:
                continue
            seen.add(key)
            grant = statement.describe() if statement else "a statement"
            lines.append(f"{grant} — it also lets {request.describe()}")
        for request, decision in self.missing:
            why = f" ({decision.statement.name} denies it)" if decision.effect == "deny" \
                and decision.statement else ""
            lines.append(f"nothing allows {request.describe()}{why}")
        return lines[:limit]

    def summary(self) -> str:
        return "; ".join(self.findings()) or "access is exactly what was asked for"

    def to_evidence(self) -> dict[str, Any]:
        return {"excess": [r.describe() for r, _ in self.excess],
                "missing": [r.describe() for r, _ in self.missing],
                "findings": self.findings(limit=10)}


def audit(policies: Iterable[Policy], must_allow: Iterable[Request],
          must_deny: Iterable[Request]) -> AccessReport:
    """Which required requests are denied, and which forbidden ones are allowed."""
    chosen = list(policies)
    report = AccessReport()
    for request in must_allow:
        decision = evaluate(chosen, request)
        if not decision.allowed:
            report.missing.append((request, decision))
    for request in must_deny:
        decision = evaluate(chosen, request)
        if decision.allowed:
            report.excess.append((request, decision))
    return report
