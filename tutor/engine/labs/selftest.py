"""`tutor dev check`: validate all content, then prove every lab against a real LocalStack."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.corpus import CorpusResult, load_cases
from tutor.engine.labs.loader import Lab, lab_dirs, load_lab, validate_labs
from tutor.engine.labs.namespace import Namespace
from tutor.engine.labs.runner import LabReport, run_checks
from tutor.engine.labs.solution import apply_solution
from tutor.engine.labs.workspace import changed_files, reset_workspace


@dataclass
class SelfTestResult:
    lab_id: str
    problems: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase
    check_seconds: list[float] = field(default_factory=list)  # every check that ran
    starter: LabReport | None = None
    solution: LabReport | None = None
    corpus: CorpusResult | None = None
    scratch: str = ""  # the workspace folder it used
    account: str = ""  # the LocalStack account it ran in

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())


def validate_content(labs_root: Path, quizzes_root: Path | None) -> list[str]:
    """Every content problem in the labs and (when the quiz engine exists) the quiz banks."""
    problems = validate_labs(labs_root)
    for path in lab_dirs(labs_root):  # the mistakes corpus of every lab that loads
        try:
            lab = load_lab(path)
        except Exception:  # already reported by validate_labs
            continue
        problems.extend(load_cases(lab)[1])
    if quizzes_root is not None:
        from tutor.engine.quiz.bank import validate_banks

        if quizzes_root.is_dir():
            problems.extend(str(p) for p in validate_banks(quizzes_root))
    return problems


def _times(report: LabReport) -> list[float]:
    return [c.seconds for s in report.steps for c in s.checks if not c.skipped]


def selftest_lab(lab: Lab, endpoint: Endpoint, scratch: Path | None = None) -> SelfTestResult:
    """Prove one lab: checks fail on the starter, pass on the solution, reset is clean.
    (`pool.run_corpora` runs several labs' self-tests and corpora in one pool.)"""
    result = SelfTestResult(lab.id)
    own_scratch = scratch is None
    root = scratch or Path(tempfile.mkdtemp(prefix=f"tutor-selftest-{lab.id}-"))
    result.scratch, result.account = str(root), endpoint.account
    namespace = Namespace.of(lab, endpoint)
    try:
        t0 = time.monotonic()
        namespace.delete()  # a clean slate, whatever an earlier run left
        workspace = reset_workspace(lab, root)
        result.phases["prepare"] = time.monotonic() - t0

        t0 = time.monotonic()
        starter = run_checks(lab, endpoint, workspace, ignore_blockers=True)
        result.phases["starter"] = time.monotonic() - t0
        result.starter = starter
        result.check_seconds += _times(starter)
        for step in starter.steps:
            if step.status == "passed":
                result.problems.append(
                    f"{lab.id}: step `{step.step_id}` passes on the untouched starter — "
                    "its checks cannot fail; make them test what the learner must do")

        t0 = time.monotonic()
        try:
            apply_solution(lab, endpoint, workspace)
        except Exception as exc:
            result.problems.append(f"{lab.id}: applying the reference solution failed: {exc}")
            return result
        result.phases["solution"] = time.monotonic() - t0

        t0 = time.monotonic()
        solved = run_checks(lab, endpoint, workspace)
        result.phases["solved"] = time.monotonic() - t0
        result.solution = solved
        result.check_seconds += _times(solved)
        for step in solved.steps:
            if not step.passed:
                failing = [f"{c.id}: {c.message}" for c in step.checks if not c.passed]
                detail = "; ".join(failing) or step.note
                result.problems.append(f"{lab.id}: step `{step.step_id}` fails on the "
                                       f"reference solution: {detail}"
                                       + (f"\n{step.output}" if step.output else ""))

        t0 = time.monotonic()
        namespace.delete()
        left = namespace.resources()
        reset_workspace(lab, root)
        result.phases["reset"] = time.monotonic() - t0
        if left:
            result.problems.append(f"{lab.id}: reset left resources behind: {left}")
        if changed_files(lab, root):
            result.problems.append(f"{lab.id}: reset did not restore the starter: "
                                   f"{changed_files(lab, root)}")
        if namespace.errors:
            result.problems.extend(f"{lab.id}: {e}" for e in namespace.errors)
    finally:
        if own_scratch:
            shutil.rmtree(root, ignore_errors=True)
    return result
