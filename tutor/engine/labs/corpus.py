"""A lab's mistakes corpus: wrong solutions its checks must fail, right ones they must pass.

A case is a folder `labs/NN-slug/mistakes/<case-id>/` with a `case.yaml` (its schema and
reader are in `corpus_spec`; proving one case is `corpus_case`). This module holds what a
lab's proof comes to (`CorpusResult`) and the accounts cases run in; `pool` runs the cases,
and the self-tests, in parallel: each case in a LocalStack account of its own (same names,
separate resources), so cases never see each other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.corpus_case import CaseError, CaseResult, run_case, shared_setup
from tutor.engine.labs.corpus_spec import (
    CASE_FILE,
    CASES_DIR,
    COMMAND_TIMEOUT,
    Case,
    CaseSpec,
    Edit,
    Expect,
    load_cases,
)

if TYPE_CHECKING:
    from tutor.engine.labs.selftest import SelfTestResult

# The names callers import from here, wherever they are defined.
__all__ = [
    "ACCOUNT_BASE",
    "CASES_DIR",
    "CASE_FILE",
    "COMMAND_TIMEOUT",
    "Case",
    "CaseError",
    "CaseResult",
    "CaseSpec",
    "CorpusResult",
    "Edit",
    "Expect",
    "account_for",
    "load_cases",
    "run_case",
    "shared_setup",
]

# Accounts for parallel cases: 12 digits, far from LocalStack's default and from the
# accounts learner ids map to.
ACCOUNT_BASE = 990_000_000_000


@dataclass
class CorpusResult:
    lab_id: str
    results: list[CaseResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # cases that cannot be read
    seconds: float = 0.0
    selftests: dict[str, SelfTestResult] = field(default_factory=dict)  # by account kind

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.ok for r in self.results)

    def counts(self) -> dict[str, int]:
        mistakes = [r for r in self.results if r.case.spec.kind == "mistake"]
        variants = [r for r in self.results if r.case.spec.kind == "variant"]
        return {"mistakes": len(mistakes), "caught": sum(r.ok for r in mistakes),
                "variants": len(variants), "passed": sum(r.ok for r in variants)}

    def failures(self) -> list[str]:
        return self.problems + [f"{self.lab_id}: {r.case.spec.kind} `{r.case.id}` "
                                f"({r.case.spec.title}): {r.detail}"
                                for r in self.results if not r.ok]


def account_for(endpoint: Endpoint, slot: int) -> Endpoint:
    """Slot 0 keeps the endpoint's own account; the others get accounts of their own."""
    if slot == 0:
        return endpoint
    return dataclasses.replace(endpoint, account=str(ACCOUNT_BASE + slot))
