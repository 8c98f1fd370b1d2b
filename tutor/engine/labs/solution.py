"""Applying a lab's reference solution: copy its files, then run its scripts, step by step."""

from __future__ import annotations

from pathlib import Path

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.checks import ScenarioFailed
from tutor.engine.labs.loader import Lab
from tutor.engine.labs.scenario import ScenarioRunner
from tutor.engine.labs.workspace import IGNORED, copy_solution_files
from tutor.errors import TutorError


def _digest(workspace: Path) -> str:
    """A fingerprint of the workspace's source files (what a solution script reads)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(workspace.rglob("*")):
        if path.is_file() and path.suffix in _SOURCES and \
                not IGNORED.intersection(path.relative_to(workspace).parts):
            digest.update(str(path.relative_to(workspace)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


_SOURCES = {".py", ".json", ".yaml", ".yml", ".js", ".mjs", ".cjs", ".sh", ".txt", ".toml"}


def apply_solution(lab: Lab, endpoint: Endpoint, workspace: Path,
                   steps: list[str] | None = None) -> list[str]:
    """Apply each step's solution action in order; returns a log of what was done."""
    done: list[str] = []
    runner = ScenarioRunner(lab.id, lab.prefix, endpoint, workspace)
    last: tuple[str, str] | None = None  # (script, workspace digest) of the last run
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
                state = (script, _digest(workspace))
                if state == last:  # the same script over the same files, just run
                    done.append(f"{step.id}: {script} already ran on these files")
                    continue
                try:
                    runner.run(script, timeout=action.timeout)
                except ScenarioFailed as exc:
                    raise TutorError(
                        f"The reference solution of step `{step.id}` failed: {exc.message}"
                        + (f"\n{exc.output}" if exc.output else ""),
                        "Solution failed", "is LocalStack healthy? `tutor doctor`") from None
                done.append(f"{step.id}: ran {script}")
                last = state
    finally:
        runner.close()
    return done
