"""A learner's progress in one lab, typed, and the one rule for when a solution opens."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.engine.labs.loader import Lab
from tutor.engine.labs.model import Step
from tutor.engine.labs.workspace import workspace_dir
from tutor.engine.progress import ProgressStore


def solution_closed(step: Step, *, passed: bool, hints_seen: int, lab_open: bool) -> str:
    """Why the solution of `step` is not open yet ("" when it is): it opens once the step
    passed, after its last hint, or for good once the lab was completed or a solution
    was shown (the CLI, the TUI and `tutor lab solution` all ask this)."""
    if lab_open or passed or hints_seen >= len(step.hints):
        return ""
    return (f"The solution opens once this step passed, or after its last hint (you have "
            f"seen {hints_seen} of {len(step.hints)}: press h, or `tutor lab hint`)")


@dataclass(frozen=True)
class StepStatus:
    id: str
    title: str
    passed: bool | None  # of the latest check (None: never checked)
    score: float | None
    max_score: float
    hints_seen: int
    hints: int
    detail: dict[str, Any] = field(default_factory=dict)  # the latest check's record
    solution_closed: str = ""  # why its solution is not open yet ("" when it is)


@dataclass(frozen=True)
class LabStatus:
    id: str
    title: str
    started: bool
    completed: bool
    solution_shown: bool
    workspace: Path
    workspace_exists: bool
    steps: list[StepStatus]

    def step(self, step_id: str) -> StepStatus:
        return next(s for s in self.steps if s.id == step_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `--json` (the keys `tutor lab status --json` has always had)."""
        return {"id": self.id, "title": self.title, "started": self.started,
                "completed": self.completed, "workspace": str(self.workspace),
                "steps": [{"id": s.id, "title": s.title, "passed": s.passed,
                           "score": s.score, "max_score": s.max_score,
                           "hints_shown": s.hints_seen, "hints": s.hints,
                           "solution_open": not s.solution_closed} for s in self.steps]}


def lab_status(lab: Lab, store: ProgressStore) -> LabStatus:
    """Per step: the latest result, hints seen and whether its solution is open; whether
    the lab was started, completed, and whether its workspace exists."""
    latest = store.latest_steps(lab.id)
    state = store.lab_state(lab.id)
    lab_open = bool(state["completed_at"] or state["solution_shown"])
    workspace = workspace_dir(lab)
    steps = []
    for step in lab.spec.steps:
        result = latest.get(step.id)
        passed = bool(result.passed) if result is not None else None
        seen = int(state["hints_shown"].get(step.id, -1)) + 1
        steps.append(StepStatus(
            step.id, step.title, passed, result.score if result is not None else None,
            step.max_score, seen, len(step.hints), result.detail if result else {},
            solution_closed(step, passed=bool(passed), hints_seen=seen, lab_open=lab_open)))
    return LabStatus(lab.id, lab.title, state["started_at"] is not None,
                     state["completed_at"] is not None, bool(state["solution_shown"]),
                     workspace, workspace.is_dir(), steps)
