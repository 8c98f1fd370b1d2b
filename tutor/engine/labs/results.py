"""What a check run found (`CheckResult`, `StepReport`, `LabReport`) and how it is recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tutor.engine.labs.loader import Lab


@dataclass
class CheckResult:
    id: str
    title: str
    weight: float
    score: float
    passed: bool
    message: str
    expected: str = ""
    found: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    skipped: str = ""
    seconds: float = 0.0
    by_hand: list[str] = field(default_factory=list)  # awslocal commands: by_hand.py


@dataclass
class StepReport:
    step_id: str
    title: str
    status: str  # passed | failed | blocked | skipped | unreachable (LocalStack was lost)
    score: float
    max_score: float
    checks: list[CheckResult] = field(default_factory=list)
    note: str = ""  # why blocked/skipped, or the scenario's failure
    output: str = ""  # the learner program's output when a scenario failed
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status in ("passed", "skipped")


@dataclass
class LabReport:
    lab_id: str
    steps: list[StepReport]
    seconds: float

    @property
    def score(self) -> float:
        return sum(s.score for s in self.steps)

    @property
    def max_score(self) -> float:
        return sum(s.max_score for s in self.steps)

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"lab": self.lab_id, "passed": self.passed, "score": round(self.score, 2),
                "max_score": self.max_score, "seconds": round(self.seconds, 2),
                "steps": [asdict(s) | {"passed": s.passed} for s in self.steps]}


def record(lab: Lab, report: LabReport, store: Any) -> None:
    """Store each checked step in the progress store; feed failed steps' tags to the quiz."""
    feed = _quiz_feed()
    for step_report in report.steps:
        if step_report.status in ("blocked", "unreachable"):  # not an attempt of the learner
            continue
        store.record_step(lab.id, step_report.step_id, step_report.score,
                          step_report.max_score, step_report.passed,
                          {"status": step_report.status, "note": step_report.note,
                           "checks": [asdict(c) for c in step_report.checks]})
        if not step_report.passed and feed is not None:
            tags = lab.tags(lab.step(step_report.step_id))
            try:
                feed(store, tags)
            except Exception:  # review scheduling must never break checking
                pass
    if report.passed and len(report.steps) == len(lab.spec.steps):
        store.mark_lab(lab.id, completed=True)


def _quiz_feed() -> Callable[[Any, list[str]], Any] | None:
    """The quiz scheduler's hook: questions on a failed step's pointers become due now."""
    from tutor.engine.quiz.srs import feed_failed_check

    return feed_failed_check
