"""What the lab screen knows of the learner's progress in one lab (plain data, no widgets)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutor.engine.labs.api import Hint, LabReport, StepReport
    from tutor.engine.labs.model import Step


@dataclass
class LabProgress:
    workspace: Path
    started: bool = False
    reports: dict[str, StepReport] = field(default_factory=dict)  # this session's checks
    details: dict[str, dict[str, Any]] = field(default_factory=dict)  # earlier sessions'
    scores: dict[str, tuple[str, float, float]] = field(default_factory=dict)  # ditto
    hints: dict[str, int] = field(default_factory=dict)  # hints seen per step
    passed: set[str] = field(default_factory=set)
    last_score: str = ""

    @classmethod
    def from_status(cls, state: dict[str, Any]) -> LabProgress:
        """From `api.lab_status(...)` plus `latest` (step -> detail) and `started`."""
        progress = cls(Path(state["workspace"]), bool(state["started"]))
        for step in state["steps"]:
            progress.hints[step["id"]] = step["hints_shown"]
            if step["passed"]:
                progress.passed.add(step["id"])
            detail = state["latest"].get(step["id"])
            if detail is not None and step["score"] is not None:
                progress.details[step["id"]] = detail
                progress.scores[step["id"]] = (detail.get("status", "failed"), step["score"],
                                               step["max_score"])
        return progress

    def record(self, report: StepReport) -> None:
        self.reports[report.step_id] = report
        if report.passed:
            self.passed.add(report.step_id)

    def finish(self, report: LabReport) -> str:
        passed = sum(1 for s in report.steps if s.passed)
        self.last_score = (f"last check {time.strftime('%H:%M:%S')}: {report.score:g}/"
                           f"{report.max_score:g} points, {passed}/{len(report.steps)} steps")
        return self.last_score

    def saw_hint(self, hint: Hint) -> int:
        self.hints[hint.step_id] = max(self.hints.get(hint.step_id, 0), hint.index + 1)
        return self.hints[hint.step_id]

    def solution_closed(self, step: Step) -> str:
        """Why the solution of `step` is not open yet ("" when it is)."""
        seen, total = self.hints.get(step.id, 0), len(step.hints)
        if step.id in self.passed or seen >= total:
            return ""
        return (f"The solution opens once this step passed, or after its last hint (you have "
                f"seen {seen} of {total}: press h)")

    def restart(self, workspace: Path) -> None:
        """After a reset: the starter is back, nothing is checked in this session."""
        self.workspace, self.started = workspace, True
        self.reports.clear()
        self.details.clear()
        self.scores.clear()
        self.passed.clear()
        self.last_score = ""
