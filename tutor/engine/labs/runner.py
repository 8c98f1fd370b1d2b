"""Run a lab's checks step by step: scenarios first, each check bounded, partial credit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.checks import CheckContext, Deadline, Outcome, ScenarioFailed
from tutor.engine.labs.loader import Lab
from tutor.engine.labs.model import Step
from tutor.engine.labs.scenario import ScenarioRunner, node_binary
from tutor.errors import LocalStackUnreachable, TutorError, from_boto


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


UNREACHABLE_NOTE = ("could not reach LocalStack at {url}: this step was not checked and "
                    "does not count as an attempt")
UNREACHABLE_FIX = ("start it with `tutor localstack up` (or restart the embedded one), "
                   "then check again")


class CheckRunInterrupted(LocalStackUnreachable):
    """LocalStack went away during a check run; `report` holds every step of the run.

    Steps checked before the loss keep their result; the step in progress and those after
    it have status "unreachable": not the learner's failure, not recorded, not reviewed.
    """

    def __init__(self, url: str, detail: str, report: LabReport) -> None:
        super().__init__(url, detail)
        self.message = f"Could not reach LocalStack at {url} during the check" + \
            (f" ({detail})" if detail else "")
        self.fix = UNREACHABLE_FIX
        self.report = report


class _Timeout(Exception):
    pass


WATCH_INTERVAL = 1.0  # seconds between health probes during a check run
# Health probes in a row without an answer (1 s apart, 2 s each) that mean "lost": about
# 30 s. A refused connection is certain at once; a LocalStack busy with a burst on a
# loaded machine can miss a few probes and is still there.
WATCH_SILENCE = 10


class _HealthWatch:
    """Probes LocalStack during a check run; when it is gone, stops the learner's programs.

    Without it, a program that lost LocalStack sits in its SDK's retries (~5 s for boto3)
    before it fails; with it, the run notices within about a second.
    """

    def __init__(self, endpoint: Endpoint, runner: ScenarioRunner) -> None:
        self.endpoint = endpoint
        self.runner = runner
        self.lost = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name="tutor-health-watch")
        self._thread.start()

    def _loop(self) -> None:
        from tutor.cloud.health import probe

        misses = 0
        while not self._done.wait(WATCH_INTERVAL):
            health = probe(self.endpoint.url, timeout=2.0)
            if health.reachable:
                misses = 0
                continue
            misses += 1
            # A refused connection is certain (nothing listens on the port any more); a slow
            # answer may be a LocalStack busy with a burst: only a long silence counts.
            if "refused" in health.error.lower() or misses >= WATCH_SILENCE:
                self.lost.set()
                self.runner.abort()
                return

    def close(self) -> None:
        self._done.set()


def _bounded[T](fn: Callable[[], T], timeout: float, deadline: Deadline | None = None) -> T:
    """Run `fn` in a daemon thread; raise _Timeout when it is not done in `timeout` s
    (or, with `deadline`, by the time the deadline has moved to)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    if deadline is None:
        thread.join(timeout)
    else:
        while thread.is_alive() and deadline.left() > 0:
            thread.join(min(0.5, deadline.left()))
    if thread.is_alive():
        raise _Timeout()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _is_boto(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(("botocore", "boto3"))


def _unreachable(exc: BaseException, endpoint: Endpoint) -> LocalStackUnreachable | None:
    if isinstance(exc, LocalStackUnreachable):
        return exc
    if _is_boto(exc):
        error = from_boto(exc, endpoint.url)
        if isinstance(error, LocalStackUnreachable):
            return error
    return None


def _ensure_reachable(ctx: CheckContext) -> None:
    """After a failure: if LocalStack is gone, that, not the learner, is the cause."""

    if ctx.runner.lost.is_set():  # the health watch stopped the programs: not their fault
        raise LocalStackUnreachable(ctx.endpoint.url, "it stopped answering during the check")
    _confirm_reachable(ctx.endpoint.url)


def _confirm_reachable(url: str, attempts: int = 2, timeout: float = 3.0) -> None:
    """Raise LocalStackUnreachable unless LocalStack answers its health probe. A busy one
    may miss a probe (a loaded two-core machine: a 2 s probe timed out at the start of a
    check run), so it gets `attempts`; a dead one refuses the connection at once."""
    from tutor.cloud.health import probe

    for _attempt in range(attempts):
        health = probe(url, timeout=timeout)
        if health.reachable:
            return
        if "refused" in health.error.lower():
            break
    raise LocalStackUnreachable(url, health.error)


def _run_check(lab: Lab, step: Step, index: int, ctx: CheckContext) -> CheckResult:
    ref = step.checks[index]
    spec = lab.checks[ref.check]
    ctx.params = dict(ref.params)
    title = ref.title or ref.id
    start = time.monotonic()
    try:
        outcome = _bounded(lambda: spec.fn(ctx), spec.timeout)
        if not isinstance(outcome, Outcome):
            raise TypeError(f"returned {type(outcome).__name__}, not an Outcome")
    except _Timeout:
        outcome = Outcome(0.0, f"the check to finish within {spec.timeout:g} s",
                          "it was still running and was abandoned")
    except Exception as exc:
        unreachable = _unreachable(exc, ctx.endpoint)
        if unreachable is not None:
            raise unreachable from None
        if _is_boto(exc) or isinstance(exc, TutorError):
            message = (from_boto(exc, ctx.endpoint.url).message if _is_boto(exc)
                       else str(exc))
            outcome = Outcome(0.0, title[0].lower() + title[1:], message)
        else:
            outcome = Outcome(0.0, f"check `{ref.check}` to run",
                              f"it crashed with {type(exc).__name__}: {exc} (a bug in the "
                              "lab: please report it)")
    if not outcome.passed:
        _ensure_reachable(ctx)
    seconds = time.monotonic() - start
    fraction = 1.0 if outcome.skipped else outcome.fraction
    return CheckResult(ref.id, title, ref.weight, round(ref.weight * fraction, 4),
                       outcome.passed, outcome.message, outcome.expected, outcome.found,
                       _jsonable(outcome.evidence), outcome.skipped, round(seconds, 3))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _missing_runtime(lab: Lab, step: Step, endpoint: Endpoint) -> str:
    for runtime in step.requires:
        if runtime == "node" and node_binary() is None:
            return "Node.js is not installed on this machine (install Node.js 18+ to do it)"
        if runtime == "kinesis":
            why = kinesis_missing(endpoint)
            if why:
                return why
    return ""


def kinesis_missing(endpoint: Endpoint) -> str:
    """Why this LocalStack cannot run the Kinesis steps ("" when it can)."""
    from tutor.cloud.embedded import kinesis_ready
    from tutor.cloud.health import probe

    state = probe(endpoint.url, timeout=3.0).services.get("kinesis", "absent")
    if state in ("available", "running"):
        return ""
    local = kinesis_ready()
    return (f"this LocalStack does not run Kinesis ({local or 'not in its SERVICES'}): "
            "the tutor's embedded LocalStack runs it once `make install` installed "
            "kinesis-mock (it needs Node.js)")


def _run_step(lab: Lab, step: Step, ctx: CheckContext,
              failures: dict[str, Exception]) -> StepReport:
    start = time.monotonic()
    report = StepReport(step.id, step.title, "failed", 0.0, step.max_score)
    why = _missing_runtime(lab, step, ctx.endpoint)
    if why:
        report.status, report.note, report.score = "skipped", why, step.max_score
        report.checks = [CheckResult(r.id, r.title or r.id, r.weight, r.weight, True,
                                     f"Skipped: {why}", skipped=why) for r in step.checks]
        return report
    for name in step.scenarios:
        spec = lab.scenarios[name]
        limit = spec.timeout  # what the scenario ended up allowed (budgets extend it)
        try:
            if name in failures:  # an earlier step of this run already saw it fail
                raise failures[name]
            if name not in ctx.results:  # a scenario runs once per run, shared by steps
                ctx.deadline = Deadline(spec.timeout)
                ctx.budgets = []
                ctx.runner.set_faults(lab.faults(name))
                try:
                    ctx.results[name] = _bounded(lambda spec=spec: spec.fn(ctx),  # type: ignore[misc]
                                                 spec.timeout, ctx.deadline)
                finally:
                    limit = ctx.deadline.at - ctx.deadline.start
                    ctx.deadline = None
                    ctx.runner.set_faults([])
        except Exception as exc:
            failures[name] = exc
            unreachable = _unreachable(exc, ctx.endpoint)
            if unreachable is not None:
                raise unreachable from None
            # A learner program that lost its LocalStack crashes like a buggy one.
            _ensure_reachable(ctx)
            if isinstance(exc, _Timeout):
                message = (f"the scenario `{name}` did not finish within {limit:.0f} s"
                           + ctx.budget_note())
            elif isinstance(exc, TutorError):
                message = exc.message + (f" — {exc.fix}" if exc.fix else "")
            elif _is_boto(exc):
                message = from_boto(exc, ctx.endpoint.url).message
            else:
                message = f"the scenario `{name}` crashed: {type(exc).__name__}: {exc}"
            output = exc.output if isinstance(exc, ScenarioFailed) else ""
            output = output or "\n".join(p.output(15) for p in ctx.runner.programs)
            ctx.runner.close()
            report.note, report.output = message, output
            report.checks = [CheckResult(r.id, r.title or r.id, r.weight, 0.0, False,
                                         f"Could not check: {message}") for r in step.checks]
            report.seconds = time.monotonic() - start
            return report
    try:
        report.checks = [_run_check(lab, step, i, ctx) for i in range(len(step.checks))]
    finally:
        ctx.runner.close()
    report.score = round(sum(c.score for c in report.checks), 4)
    report.status = "passed" if all(c.passed for c in report.checks) else "failed"
    report.seconds = time.monotonic() - start
    return report


def run_checks(lab: Lab, endpoint: Endpoint, workspace: Path, *,
               on_result: Callable[[StepReport], None] | None = None,
               steps: list[str] | None = None, ignore_blockers: bool = False) -> LabReport:
    """Check a lab (or some of its steps), streaming each step's report to `on_result`.

    Steps after a failed blocker are reported as "blocked" and not checked. An unreachable
    LocalStack raises one LocalStackUnreachable; nothing else raises. When it is lost in
    the middle of the run, that error is a CheckRunInterrupted whose `report` has the
    results so far and the steps left as "unreachable" (those are not streamed).
    """
    _confirm_reachable(endpoint.url)
    start = time.monotonic()
    started_at = time.time()
    runner = ScenarioRunner(lab.id, lab.prefix, endpoint, workspace)
    watch = _HealthWatch(endpoint, runner)
    reports: list[StepReport] = []
    blocked_by = ""
    results: dict[str, dict[str, Any]] = {}  # scenario results, shared by the run's steps
    failures: dict[str, Exception] = {}
    wanted = [s for s in lab.spec.steps if steps is None or s.id in steps]
    try:
        for number, step in enumerate(wanted):
            if blocked_by and not ignore_blockers:
                report = StepReport(step.id, step.title, "blocked", 0.0, step.max_score,
                                    note=f"not checked until step `{blocked_by}` passes")
            else:
                ctx = CheckContext(lab.id, lab.prefix, endpoint, workspace, lab.clock, runner,
                                   results=results, started_at=started_at)
                try:
                    report = _run_step(lab, step, ctx, failures)
                except LocalStackUnreachable as lost:
                    runner.close()  # its programs lost LocalStack too
                    reports.extend(_unreachable_step(s, endpoint) for s in wanted[number:])
                    detail = lost.message.partition("(")[2].rstrip(")")
                    raise CheckRunInterrupted(endpoint.url, detail, LabReport(
                        lab.id, reports, time.monotonic() - start)) from None
                if step.blocker and not report.passed:
                    blocked_by = step.id
            reports.append(report)
            if on_result is not None:
                on_result(report)
    finally:
        watch.close()
        runner.close()
    return LabReport(lab.id, reports, time.monotonic() - start)


def _unreachable_step(step: Step, endpoint: Endpoint) -> StepReport:
    note = UNREACHABLE_NOTE.format(url=endpoint.url)
    return StepReport(step.id, step.title, "unreachable", 0.0, step.max_score,
                      [CheckResult(r.id, r.title or r.id, r.weight, 0.0, False,
                                   f"Could not check: {note}") for r in step.checks],
                      note=note)


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
