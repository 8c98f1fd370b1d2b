"""Proving one corpus case: set it up in an account, check its step, judge the result."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.corpus_spec import Case
from tutor.engine.labs.loader import Lab
from tutor.engine.labs.namespace import Namespace
from tutor.engine.labs.results import CheckResult
from tutor.engine.labs.runner import StepReport, run_checks
from tutor.engine.labs.solution import apply_solution
from tutor.engine.labs.workspace import copy_solution_files, reset_workspace


@dataclass
class CaseResult:
    lab_id: str
    case: Case
    ok: bool
    detail: str  # why it failed the corpus, or what the step said
    seconds: float
    account: str
    report: StepReport | None = None


def _apply_edits(case: Case, workspace: Path) -> None:
    for rel in case.spec.files:
        target = workspace / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(case.path / rel, target)
    for edit in case.spec.edits:
        path = workspace / edit.file
        text = path.read_text()
        found = text.count(edit.replace)
        if found != edit.count:
            raise CaseError(f"edit of {edit.file}: `{edit.replace[:60]}` occurs {found} "
                            f"times, expected {edit.count} (the solution changed?)")
        path.write_text(text.replace(edit.replace, edit.with_))


class CaseError(Exception):
    """The case could not be set up (not a verdict on the checks)."""


def _run(lab: Lab, case: Case, endpoint: Endpoint, workspace: Path) -> None:
    from tutor.engine.labs.scenario import ScenarioRunner

    step = lab.step(case.spec.step)
    commands = case.spec.run if case.spec.run is not None else list(step.solution.run)
    runner = ScenarioRunner(lab.id, lab.prefix, endpoint, workspace)
    try:
        for command in commands:
            if _is_script(workspace, command):
                program = runner.run(command, timeout=max(step.solution.timeout,
                                                          case.spec.timeout), check=False)
                if program.returncode != 0:
                    raise CaseError(f"`{command}` exited with {program.returncode}:\n"
                                    f"{program.output(15)}")
                continue
            env = runner.env()
            env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                           env.get("PATH", os.defpath)])
            done = subprocess.run(["bash", "-c", command], cwd=workspace, env=env,
                                  capture_output=True, text=True, timeout=case.spec.timeout,
                                  start_new_session=True, check=False)
            if done.returncode != 0:
                raise CaseError(f"`{shlex.quote(command)[:80]}` exited with "
                                f"{done.returncode}: {(done.stderr or done.stdout)[-800:]}")
    finally:
        runner.close()


def _is_script(workspace: Path, command: str) -> bool:
    """A workspace program (`infra.py`), rather than a shell command line."""
    if "\n" in command or " " in command.strip():
        return False
    try:
        return (workspace / command).is_file()
    except (OSError, ValueError):  # a name longer than the filesystem allows, a NUL
        return False


def _verdict(case: Case, report: StepReport) -> tuple[bool, str]:
    failing = [c for c in report.checks if not c.passed]
    said = " ".join([report.note] + [c.message for c in failing])
    if case.spec.kind == "variant":
        if report.passed:
            return True, "passed"
        return False, ("a right solution was rejected: " + (said.strip() or report.status)
                       + _printed(failing, report))
    if report.passed:
        return False, "a wrong solution passed"
    if report.status == "unreachable":
        return False, f"LocalStack was lost: {report.note}"
    wanted = case.spec.expect.checks
    if wanted:
        targets = [c for c in report.checks if c.id in wanted]
        if targets and all(c.passed for c in targets):
            names = " and ".join(f"`{c}`" for c in wanted)
            return False, (f"check {names} passed; the step failed elsewhere: "
                           f"{said.strip()}")
        if targets:
            said = " ".join([report.note] + [c.message for c in targets if not c.passed])
    lowered = said.lower()
    absent = [w for w in case.spec.expect.words if w.lower() not in lowered]
    if absent:
        return False, (f"the failure does not say {absent}: {said.strip()[:600]}"
                       + _printed(failing, report))
    return True, said.strip()[:300]


def _printed(failing: list[CheckResult], report: StepReport) -> str:
    """What the learner's programs printed, as the failing checks kept it: a corpus
    failure in a CI log must say why a program crashed, not only that it did."""
    shown = {key: str(value) for check in failing for key, value in check.evidence.items()
             if key.endswith("output") and str(value).strip()}
    if report.output.strip():
        shown.setdefault("output", report.output)
    return "".join(f"\n  [{key}]\n    " + "\n    ".join(text.strip().splitlines()[-12:])
                   for key, text in shown.items())


def _commands(lab: Lab, case: Case) -> list[str]:
    return case.spec.run if case.spec.run is not None else list(lab.step(case.spec.step)
                                                                 .solution.run)


def shared_setup(lab: Lab, case: Case) -> str | None:
    """The cloud set-up a case may share with the case run before it in the same account:
    its step's, when the case changes nothing in the cloud before the check (it only
    changes workspace files on top of the solution). None: it needs a fresh set-up."""
    if case.spec.fresh or case.spec.base != "solution" or _commands(lab, case):
        return None
    return case.spec.step


def run_case(lab: Lab, case: Case, endpoint: Endpoint, scratch: Path, *,
             reuse: bool = False, keep: bool = False) -> CaseResult:
    """Set the case up in `endpoint`'s account, check its step, judge the result.

    `reuse`: the account already holds the solved steps before this one (the previous
    case shared this set-up); only the workspace is rebuilt. `keep`: leave the cloud
    resources for the next case instead of deleting them.
    """
    started = time.monotonic()
    namespace = Namespace.of(lab, endpoint)
    report: StepReport | None = None
    try:
        index = [s.id for s in lab.spec.steps].index(case.spec.step)
        before = [s.id for s in lab.spec.steps[:index]]
        if not reuse:
            namespace.delete()
        workspace = reset_workspace(lab, scratch)
        if reuse:
            for step in lab.spec.steps[:index]:
                copy_solution_files(lab, step.solution.files, workspace)
        elif before:
            apply_solution(lab, endpoint, workspace, steps=before)
        if case.spec.base == "solution":
            copy_solution_files(lab, lab.spec.steps[index].solution.files, workspace)
        _apply_edits(case, workspace)
        _run(lab, case, endpoint, workspace)
        lab_report = run_checks(lab, endpoint, workspace, steps=[case.spec.step],
                                ignore_blockers=True)
        report = lab_report.steps[0]
        ok, detail = _verdict(case, report)
    except CaseError as exc:
        ok, detail = False, f"could not set the case up: {exc}"
    except Exception as exc:  # a TutorError from the solution, a lost LocalStack...
        ok, detail = False, f"could not run: {type(exc).__name__}: {exc}"
    finally:
        if not keep:
            try:
                namespace.delete()
            except Exception:
                pass
    return CaseResult(lab.id, case, ok, detail, time.monotonic() - started, endpoint.account,
                      report)
