"""A lab's mistakes corpus: wrong solutions its checks must fail, right ones they must pass.

Each case is a folder `labs/NN-slug/mistakes/<case-id>/` with a `case.yaml` (schema
below) and any files it puts into the workspace:

```yaml
format: 1
kind: mistake                 # mistake: the step must fail; variant: the step must pass
step: poison                  # the step it targets (only that step is checked)
title: deletes every message in `finally:`, processed or not
base: solution                # solution: the steps before are solved and this step's
                              #   solution files are in place, then the case changes them;
                              # before: only the steps before are solved (the case brings
                              #   this step's work itself: files, CLI commands)
files: [worker.py]            # files of this folder copied over the workspace
edits:                        # then text replacements in workspace files
  - {file: worker.py, replace: "    finally:", with: "    except Exception:"}
run: [infra.py]               # then workspace scripts or shell commands (default: the
                              #   step's solution `run`); commands get the endpoint env,
                              #   with the tutor's Python first on PATH
expect:                       # mistakes only: what the failure must say
  check: poison-isolated      #   this check fails (optional)
  words: [deleted, lost]      #   and its message holds these words (case-insensitive)
```

`run_corpus` proves every case of a lab, in parallel: each case runs in a LocalStack
account of its own (same names, separate resources), so cases never see each other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tutor.cloud.endpoint import Endpoint
from tutor.engine.content_yaml import parse_yaml
from tutor.engine.labs.loader import Lab
from tutor.engine.labs.namespace import Namespace
from tutor.engine.labs.runner import StepReport, run_checks
from tutor.engine.labs.solution import apply_solution
from tutor.engine.labs.workspace import copy_solution_files, reset_workspace
from tutor.engine.suggest import did_you_mean

if TYPE_CHECKING:
    from tutor.engine.labs.selftest import SelfTestResult

CASES_DIR = "mistakes"
CASE_FILE = "case.yaml"
COMMAND_TIMEOUT = 60.0
# Accounts for parallel cases: 12 digits, far from LocalStack's default and from the
# accounts learner ids map to.
ACCOUNT_BASE = 990_000_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Edit(_Strict):
    file: str
    replace: str = Field(min_length=1)
    with_: str = Field(alias="with")
    count: int = Field(default=1, ge=1)  # how often `replace` must occur


class Expect(_Strict):
    check: str = ""  # the id of the check that must fail
    words: list[str] = Field(default_factory=list)


class CaseSpec(_Strict):
    format: Literal[1] = 1
    kind: Literal["mistake", "variant"]
    step: str
    title: str = Field(min_length=1)
    base: Literal["solution", "before"] = "solution"
    files: list[str] = Field(default_factory=list)
    edits: list[Edit] = Field(default_factory=list)
    run: list[str] | None = None
    expect: Expect = Field(default_factory=Expect)
    fresh: bool = False  # never share the cloud set-up with the case before it
    timeout: float = Field(default=COMMAND_TIMEOUT, gt=0, le=300)  # per `run` command

    @model_validator(mode="after")
    def _expectations(self) -> CaseSpec:
        if self.kind == "mistake" and not self.expect.words:
            raise ValueError("a mistake needs `expect.words`: what its failure message "
                             "must say to name the mistake")
        if self.kind == "variant" and (self.expect.words or self.expect.check):
            raise ValueError("a variant must pass: it takes no `expect`")
        return self


@dataclass(frozen=True)
class Case:
    id: str
    path: Path
    spec: CaseSpec


@dataclass
class CaseResult:
    lab_id: str
    case: Case
    ok: bool
    detail: str  # why it failed the corpus, or what the step said
    seconds: float
    account: str
    report: StepReport | None = None


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


def load_cases(lab: Lab) -> tuple[list[Case], list[str]]:
    """The lab's cases, and one problem line per case that cannot be used."""
    root = lab.path / CASES_DIR
    cases: list[Case] = []
    problems: list[str] = []
    if not root.is_dir():
        return cases, problems
    steps = {s.id: s for s in lab.spec.steps}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        file = folder / CASE_FILE
        try:
            raw = parse_yaml(file.read_text(encoding="utf-8"))
            spec = CaseSpec.model_validate(raw)
        except OSError:
            problems.append(f"{file}: missing — every case folder needs a {CASE_FILE}")
            continue
        except yaml.YAMLError as exc:
            problems.append(f"{file}: malformed YAML: {getattr(exc, 'problem', exc)}")
            continue
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            problems.append(f"{file}: field `{where}`: "
                            f"{str(first['msg']).removeprefix('Value error, ')}")
            continue
        step = steps.get(spec.step)
        if step is None:
            hint = did_you_mean(spec.step, list(steps))
            problems.append(f"{file}: field `step`: unknown step `{spec.step}` — "
                            f"{hint or 'steps: ' + ', '.join(steps)}")
            continue
        checks = {c.id for c in step.checks}
        if spec.expect.check and spec.expect.check not in checks:
            problems.append(f"{file}: field `expect.check`: step `{spec.step}` has no check "
                            f"`{spec.expect.check}` — checks: {', '.join(sorted(checks))}")
            continue
        missing = [f for f in spec.files if not (folder / f).is_file()]
        if missing:
            problems.append(f"{file}: field `files`: {missing[0]} is not in {folder}")
            continue
        cases.append(Case(folder.name, folder, spec))
    return cases, problems


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
        return False, "a right solution was rejected: " + (said.strip() or report.status)
    if report.passed:
        return False, "a wrong solution passed"
    if report.status == "unreachable":
        return False, f"LocalStack was lost: {report.note}"
    if case.spec.expect.check:
        target = [c for c in report.checks if c.id == case.spec.expect.check]
        if target and target[0].passed:
            return False, (f"check `{case.spec.expect.check}` passed; the step failed "
                           f"elsewhere: {said.strip()}")
        if target:
            said = " ".join([report.note, target[0].message])
    lowered = said.lower()
    absent = [w for w in case.spec.expect.words if w.lower() not in lowered]
    if absent:
        return False, f"the failure does not say {absent}: {said.strip()[:600]}"
    return True, said.strip()[:300]


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


def account_for(endpoint: Endpoint, slot: int) -> Endpoint:
    """Slot 0 keeps the endpoint's own account; the others get accounts of their own."""
    if slot == 0:
        return endpoint
    return dataclasses.replace(endpoint, account=str(ACCOUNT_BASE + slot))


def run_corpus(lab: Lab, endpoint: Endpoint, *, parallel: int = 3,
               only: list[str] | None = None,
               on_case: Callable[[CaseResult], None] | None = None) -> CorpusResult:
    """Prove every case of `lab` (or those in `only`), `parallel` at a time."""
    return run_corpora([lab], endpoint, parallel=parallel, only=only, on_case=on_case)[0]


SelfTestWhere = Literal["default", "learner"]


@dataclass(frozen=True)
class _Job:
    lab: Lab
    index: int
    case: Case | None = None  # None: the lab's self-test
    where: SelfTestWhere = "default"  # a self-test's account: the endpoint's, or its own

    @property
    def order(self) -> tuple[int, int]:
        """Longest first: self-tests (those in the shared default account, which run one
        at a time, before all), then cases with scenarios, then the rest."""
        if self.case is None:
            return (0 if self.where == "default" else 1, self.index)
        return (2 if self.lab.step(self.case.spec.step).scenarios else 3, 0)


def run_corpora(labs: list[Lab], endpoint: Endpoint, *, parallel: int = 3,
                only: list[str] | None = None, cases: bool = True,
                selftests: tuple[SelfTestWhere, ...] = (),
                on_case: Callable[[CaseResult], None] | None = None) -> list[CorpusResult]:
    """Prove the cases of several labs, and with `selftests` the labs themselves, in one
    pool of `parallel` slots.

    Slot k works in an account of its own, one case at a time: slot 0 in the endpoint's,
    unless self-tests run there ("default": the account a solo learner has). A "learner"
    self-test runs in a fresh account of its own, as a classroom learner's. Self-tests in
    the endpoint's account run one at a time (labs share it); cases with scenarios go
    next (they take longest), and a slot prefers a case that can share the cloud set-up it
    already holds (same lab and step, no cloud changes of its own).
    """
    # selftest imports this module
    from tutor.engine.labs.selftest import SelfTestResult, selftest_lab

    started = time.monotonic()
    results: dict[str, CorpusResult] = {}
    queue: list[_Job] = []
    for position, lab in enumerate(labs):
        results[lab.id] = CorpusResult(lab.id)
        queue.extend(_Job(lab, position, where=where) for where in selftests)
        if not cases:
            continue
        found, problems = load_cases(lab)
        if only:
            found = [c for c in found if c.id in only]
        results[lab.id].problems = [f"{lab.id}: {p}" for p in problems]
        queue.extend(_Job(lab, index, case) for index, case in enumerate(found))
    queue.sort(key=lambda job: job.order)
    root = Path(tempfile.mkdtemp(prefix="tutor-corpus-"))
    slots = max(1, min(parallel, len(queue) or 1))
    shift = 1 if "default" in selftests else 0  # the endpoint's account is the self-tests'
    lock = threading.Lock()
    busy: set[str] = set()  # the accounts of the self-tests running now (a case's
    #                          account is its slot's, which no other slot uses)
    Held = tuple[Lab, str]  # the lab and shared set-up key an account holds now

    def account(job: _Job, slot: int) -> Endpoint:
        if job.case is not None:
            return account_for(endpoint, slot + shift)
        if job.where == "default":
            return endpoint
        return dataclasses.replace(endpoint, account=str(ACCOUNT_BASE + 100 + job.index))

    def take(held: Held | None, slot: int) -> _Job | None:
        """The next job this slot may run (None: the queue is empty); waits while the only
        jobs left need an account another slot is using."""
        while True:
            with lock:
                if not queue:
                    return None
                free = [j for j in queue
                        if j.case is not None or account(j, slot).account not in busy]
                if free:
                    picked = next((j for j in free if j.case is not None and held is not None
                                   and j.lab.id == held[0].id
                                   and shared_setup(j.lab, j.case) == held[1]), free[0])
                    queue.remove(picked)
                    if picked.case is None:
                        busy.add(account(picked, slot).account)
                    return picked
            time.sleep(0.5)

    def worker(slot: int) -> None:
        own = account_for(endpoint, slot + shift)
        held: Held | None = None
        while True:
            job = take(held, slot)
            if held is not None and (job is None or job.case is None
                                     or job.lab.id != held[0].id):
                with contextlib.suppress(Exception):  # leave nothing of the last lab
                    Namespace.of(held[0], own).delete()
                held = None
            if job is None:
                return
            here = account(job, slot)
            kind = "case" if job.case is not None else f"selftest-{job.where}"
            scratch = root / f"slot{slot}-{job.lab.spec.number}-{kind}-{job.index}"
            try:
                if job.case is None:
                    try:
                        proven = selftest_lab(job.lab, here, scratch)
                    except Exception as exc:  # a lost LocalStack...: the lab's problem
                        proven = SelfTestResult(job.lab.id, problems=[
                            f"{job.lab.id}: the self-test could not run: "
                            f"{type(exc).__name__}: {exc}"])
                    results[job.lab.id].selftests[job.where] = proven
                    continue
                key = shared_setup(job.lab, job.case)
                reuse = held is not None and key is not None and key == held[1]
                outcome = run_case(job.lab, job.case, here, scratch, reuse=reuse,
                                   keep=key is not None)
                held = (job.lab, key) if key is not None and outcome.report is not None \
                    else None
                with lock:
                    results[outcome.lab_id].results.append(outcome)
                if on_case is not None:
                    on_case(outcome)
            finally:
                if job.case is None:
                    with lock:
                        busy.discard(here.account)

    try:
        with ThreadPoolExecutor(max_workers=slots, thread_name_prefix="tutor-corpus") as pool:
            list(pool.map(worker, range(slots)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    elapsed = time.monotonic() - started
    for lab in labs:
        corpus = results[lab.id]
        order = {c.id: i for i, c in enumerate(load_cases(lab)[0])}
        corpus.results.sort(key=lambda r: order.get(r.case.id, 0))
        corpus.seconds = sum(r.seconds for r in corpus.results) / slots if len(labs) > 1 \
            else elapsed
    return [results[lab.id] for lab in labs]
