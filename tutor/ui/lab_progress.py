"""What the lab screen knows of the learner's progress in one lab (plain data, no widgets)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.engine.labs.status import solution_closed

if TYPE_CHECKING:
    from tutor.engine.labs.api import Hint, LabReport, LabStatus, StepReport
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
    lab_open: bool = False  # completed, or a solution shown: every solution is open

    @classmethod
    def from_status(cls, status: LabStatus) -> LabProgress:
        """From the engine's `lab_status` (started means: and the workspace exists)."""
        progress = cls(status.workspace, status.started and status.workspace_exists,
                       lab_open=status.completed or status.solution_shown)
        for step in status.steps:
            progress.hints[step.id] = step.hints_seen
            if step.passed:
                progress.passed.add(step.id)
            if step.score is not None:
                progress.details[step.id] = step.detail
                progress.scores[step.id] = (step.detail.get("status", "failed"), step.score,
                                            step.max_score)
        return progress

    def record(self, report: StepReport) -> None:
        self.reports[report.step_id] = report
        if report.passed:
            self.passed.add(report.step_id)

    def finish(self, report: LabReport) -> str:
        passed = sum(1 for s in report.steps if s.passed)
        if report.steps and passed == len(report.steps):
            self.lab_open = True  # the lab is completed now
        self.last_score = (f"last check {time.strftime('%H:%M:%S')}: {report.score:g}/"
                           f"{report.max_score:g} points, {passed}/{len(report.steps)} steps")
        return self.last_score

    def saw_hint(self, hint: Hint) -> int:
        self.hints[hint.step_id] = max(self.hints.get(hint.step_id, 0), hint.index + 1)
        return self.hints[hint.step_id]

    def solution_closed(self, step: Step) -> str:
        """Why the solution of `step` is not open yet ("" when it is): the engine's rule,
        on what this screen has seen since it loaded."""
        return solution_closed(step, passed=step.id in self.passed,
                               hints_seen=self.hints.get(step.id, 0), lab_open=self.lab_open)

    def restart(self, workspace: Path) -> None:
        """After a reset: the starter is back, nothing is checked in this session."""
        self.workspace, self.started = workspace, True
        self.reports.clear()
        self.details.clear()
        self.scores.clear()
        self.passed.clear()
        self.last_score = ""
