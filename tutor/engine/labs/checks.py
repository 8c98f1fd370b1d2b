"""The check API a lab's checks.py uses: `@check`, `@scenario`, `CheckContext`, `Outcome`.

A check is a read-only function `fn(ctx) -> Outcome`, bounded in time (`timeout`, at most
10 s). A scenario is a function `fn(ctx) -> dict` that makes behaviour happen (runs the
learner's programs, drives load) before a step's checks; checks read its result with
`ctx.scenario("name")`. See labs/README.md for the full contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tutor.engine.labs.context import (
    LATENCY_LOAD_FACTOR,
    LATENCY_ROUNDS,
    PROGRESS_GRACE,
    STARTUP_MOST,
    CheckContext,
    percentile,
)
from tutor.engine.labs.deadline import SCENARIO_BUDGET_MAX, Budget, Deadline
from tutor.engine.labs.outcome import Outcome, expect, failed, partial, passed, skipped
from tutor.engine.labs.program import Program
from tutor.engine.labs.scenario import ScenarioFailed

# The API labs import from here; its parts live in context.py, outcome.py and deadline.py.
__all__ = [
    "CHECK_TIMEOUT_MAX",
    "LATENCY_LOAD_FACTOR",
    "LATENCY_ROUNDS",
    "PROGRESS_GRACE",
    "SCENARIO_BUDGET_MAX",
    "SCENARIO_TIMEOUT_MAX",
    "STARTUP_MOST",
    "Budget",
    "CheckContext",
    "CheckFn",
    "Deadline",
    "Outcome",
    "Program",
    "ScenarioFailed",
    "ScenarioFn",
    "check",
    "expect",
    "failed",
    "partial",
    "passed",
    "percentile",
    "scenario",
    "skipped",
]

CHECK_TIMEOUT_MAX = 10.0
SCENARIO_TIMEOUT_MAX = 90.0


@dataclass(frozen=True)
class CheckFn:
    name: str
    fn: Callable[[CheckContext], Outcome]
    timeout: float


@dataclass(frozen=True)
class ScenarioFn:
    name: str
    fn: Callable[[CheckContext], dict[str, Any]]
    timeout: float


def check(fn: Callable[[CheckContext], Outcome] | None = None, *, timeout: float = 5.0
          ) -> Any:
    """Mark a function of checks.py as a check: `@check` or `@check(timeout=8)`."""
    if timeout > CHECK_TIMEOUT_MAX:
        raise ValueError(f"a check may take at most {CHECK_TIMEOUT_MAX:g} s")

    def mark(inner: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], Outcome]:
        inner.__tutor_check__ = CheckFn(inner.__name__, inner, timeout)  # type: ignore[attr-defined]
        return inner

    return mark(fn) if fn is not None else mark


def scenario(fn: Callable[[CheckContext], dict[str, Any]] | None = None, *,
             timeout: float = 40.0) -> Any:
    """Mark a function of checks.py as a scenario: `@scenario(timeout=30)`."""
    if timeout > SCENARIO_TIMEOUT_MAX:
        raise ValueError(f"a scenario may take at most {SCENARIO_TIMEOUT_MAX:g} s")

    def mark(inner: Callable[[CheckContext], dict[str, Any]]
             ) -> Callable[[CheckContext], dict[str, Any]]:
        inner.__tutor_scenario__ = ScenarioFn(inner.__name__, inner, timeout)  # type: ignore[attr-defined]
        return inner

    return mark(fn) if fn is not None else mark
