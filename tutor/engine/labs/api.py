"""The headless lab API that the CLI and the TUI call (no printing, no Textual)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.loader import Lab, get_lab, load_labs, load_valid_labs
from tutor.engine.labs.namespace import Namespace
from tutor.engine.labs.runner import LabReport, StepReport, record
from tutor.engine.labs.runner import run_checks as _run_checks
from tutor.engine.labs.solution import apply_solution as _apply_solution
from tutor.engine.labs.status import LabStatus, StepStatus, lab_status
from tutor.engine.labs.workspace import (
    changed_files,
    reset_workspace,
    solution_files,
    workspace_dir,
)
from tutor.engine.labs.workspace import start_lab as _start_lab
from tutor.errors import TutorError

__all__ = ["Hint", "Lab", "LabReport", "LabStatus", "ResetResult", "StepReport",
           "StepStatus", "apply_solution",
           "changed_files", "get_lab", "lab_status", "load_labs", "load_valid_labs",
           "next_hint", "reset_lab",
           "reveal_solution", "run_checks", "start_lab", "workspace_dir"]


@dataclass
class Hint:
    step_id: str
    index: int  # 0-based
    total: int
    text: str

    @property
    def last(self) -> bool:
        return self.index + 1 >= self.total


@dataclass
class ResetResult:
    workspace: Path
    deleted: dict[str, list[str]]
    left: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def start_lab(lab: Lab, force: bool = False, store: Any = None) -> Path:
    """Copy the starter into the workspace (refuses over the learner's changes unless force)."""
    path = _start_lab(lab, force=force)
    if store is not None:
        store.mark_lab(lab.id, started=True)
    return path


def _workspace(lab: Lab) -> Path:
    path = workspace_dir(lab)
    if not path.is_dir() or not any(path.iterdir()):
        raise TutorError(f"Lab {lab.id} has not been started (no workspace at {path})",
                         "Lab not started", f"run `tutor lab start {lab.id}` first")
    return path


def run_checks(lab: Lab, endpoint: Endpoint, *,
               on_result: Callable[[StepReport], None] | None = None, store: Any = None,
               steps: list[str] | None = None, workspace: Path | None = None) -> LabReport:
    """Check the learner's work; each step's report goes to `on_result` as it completes.

    Runs for seconds (scenarios run the learner's programs): call it from a worker thread.
    With `store`, results are recorded and failed steps' exam tags fed to the quiz.
    """
    from tutor.engine.labs.runner import CheckRunInterrupted

    try:
        report = _run_checks(lab, endpoint, workspace or _workspace(lab),
                             on_result=on_result, steps=steps)
    except CheckRunInterrupted as lost:
        if store is not None:  # keep what the learner earned before LocalStack went away
            record(lab, lost.report, store)
        raise
    if store is not None:
        record(lab, report, store)
    return report


def next_hint(lab: Lab, step_id: str, store: Any) -> Hint:
    """The next hint of a step (the last one again once all were shown); recorded."""
    step = lab.step(step_id)
    shown = store.lab_state(lab.id)["hints_shown"].get(step_id, -1)
    index = min(int(shown) + 1, len(step.hints) - 1)
    store.mark_lab(lab.id, hint=(step_id, index))
    return Hint(step_id, index, len(step.hints), step.hints[index].strip())


def solution_allowed(lab: Lab, store: Any, step_id: str | None = None) -> bool:
    """A solution is revealed after the step passed or after its last hint was shown
    (the rule: `tutor.engine.labs.status.solution_closed`)."""
    status = lab_status(lab, store)
    steps = [status.step(step_id)] if step_id else status.steps
    return not any(s.solution_closed for s in steps)


def reveal_solution(lab: Lab, store: Any, step_id: str | None = None,
                    force: bool = False) -> dict[str, str]:
    """The reference solution's files (those of one step, or all); recorded as shown."""
    if not force and not solution_allowed(lab, store, step_id):
        target = f"step `{step_id}`" if step_id else "every step"
        raise TutorError(f"The solution of lab {lab.id} is shown after you pass, or after "
                         f"the last hint of {target}", "Not yet",
                         f"try `tutor lab hint {lab.id}` first, or add --force")
    files = solution_files(lab)
    if step_id:
        wanted = set(lab.step(step_id).solution.files) | set(lab.step(step_id).solution.run)
        files = {k: v for k, v in files.items()
                 if k in wanted or any(k.startswith(w.rstrip("/") + "/") for w in wanted)}
    store.mark_lab(lab.id, solution=True)
    return files


def apply_solution(lab: Lab, endpoint: Endpoint,
                   steps: list[str] | None = None) -> list[str]:
    """Write the reference solution into the workspace and run its scripts."""
    return _apply_solution(lab, endpoint, _workspace(lab), steps)


def reset_lab(lab: Lab, endpoint: Endpoint, store: Any = None) -> ResetResult:
    """Restore the starter and delete every cloud resource with the lab's prefix."""
    namespace = Namespace.of(lab, endpoint)
    deleted = namespace.delete()
    left = namespace.resources()
    workspace = reset_workspace(lab)
    if store is not None:
        store.mark_lab(lab.id, started=True)
    return ResetResult(workspace, deleted, left, namespace.errors)
