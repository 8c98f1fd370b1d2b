"""Applying a lab's reference solution: copy its files, then run its scripts, step by step."""

from __future__ import annotations

from pathlib import Path

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.checks import ScenarioFailed
from tutor.engine.labs.loader import Lab
from tutor.engine.labs.scenario import ScenarioRunner
from tutor.engine.labs.workspace import copy_solution_files
from tutor.errors import TutorError


def apply_solution(lab: Lab, endpoint: Endpoint, workspace: Path,
                   steps: list[str] | None = None) -> list[str]:
    """Apply each step's solution action in order; returns a log of what was done."""
    done: list[str] = []
    runner = ScenarioRunner(lab.id, lab.prefix, endpoint, workspace)
    try:
        for step in lab.spec.steps:
            if steps is not None and step.id not in steps:
                continue
            action = step.solution
            for rel in copy_solution_files(lab, action.files, workspace):
                done.append(f"{step.id}: copied {rel}")
            for script in action.run:
                if not (workspace / script).is_file():
                    copy_solution_files(lab, [script], workspace)
                try:
                    runner.run(script, timeout=action.timeout)
                except ScenarioFailed as exc:
                    raise TutorError(
                        f"The reference solution of step `{step.id}` failed: {exc.message}"
                        + (f"\n{exc.output}" if exc.output else ""),
                        "Solution failed", "is LocalStack healthy? `tutor doctor`") from None
                done.append(f"{step.id}: ran {script}")
    finally:
        runner.close()
    return done
