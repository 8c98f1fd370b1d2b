"""What a check returns: an `Outcome`, built with `passed`, `failed`, `partial` or `skipped`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """What a check found. Build it with `passed`, `failed`, `partial` or `skipped`."""

    fraction: float  # 0..1 of the check's weight
    expected: str
    found: str
    evidence: dict[str, Any] = field(default_factory=dict)
    skipped: str = ""  # non-empty: not run, with the reason (e.g. "Node.js is not installed")

    @property
    def passed(self) -> bool:
        return self.fraction >= 1.0 or bool(self.skipped)

    @property
    def message(self) -> str:
        if self.skipped:
            return f"Skipped: {self.skipped}"
        if self.passed:
            return f"Found {self.found}."
        return f"Expected {self.expected}, found {self.found}."


def passed(expected: str, found: str, **evidence: Any) -> Outcome:
    return Outcome(1.0, expected, found, evidence)


def failed(expected: str, found: str, **evidence: Any) -> Outcome:
    return Outcome(0.0, expected, found, evidence)


def partial(fraction: float, expected: str, found: str, **evidence: Any) -> Outcome:
    return Outcome(max(0.0, min(1.0, fraction)), expected, found, evidence)


def skipped(reason: str, **evidence: Any) -> Outcome:
    return Outcome(0.0, "", "", evidence, skipped=reason)


def expect(ok: bool, expected: str, found: str, **evidence: Any) -> Outcome:
    """`passed` when ok, else `failed`: the common one-liner."""
    return Outcome(1.0 if ok else 0.0, expected, found, evidence)
