"""Run a lab's checks step by step: scenarios first, each check bounded, partial credit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.by_hand import recorded
from tutor.engine.labs.context import CheckContext
from tutor.engine.labs.deadline import Deadline
from tutor.engine.labs.loader import Lab
from tutor.engine.labs.model import Step
from tutor.engine.labs.outcome import Outcome
from tutor.engine.labs.reachability import (
    UNREACHABLE_FIX,
    UNREACHABLE_NOTE,
    WATCH_INTERVAL,
    WATCH_SILENCE,
    CheckRunInterrupted,
    HealthWatch,
    confirm_reachable,
    ensure_reachable,
    is_boto,
    unreachable_error,
    unreachable_step,
)
from tutor.engine.labs.results import CheckResult, LabReport, StepReport, record
from tutor.engine.labs.scenario import ScenarioFailed, ScenarioRunner, node_binary
from tutor.errors import LocalStackUnreachable, TutorError, from_boto

# The reports and LocalStack's reachability live in results.py and reachability.py;
# existing imports from here keep working.
__all__ = [
    "UNREACHABLE_FIX",
    "UNREACHABLE_NOTE",
    "WATCH_INTERVAL",
    "WATCH_SILENCE",
    "CheckResult",
    "CheckRunInterrupted",
    "LabReport",
    "StepReport",
    "kinesis_missing",
    "record",
    "run_checks",
]


class _Timeout(Exception):
    pass


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


def _run_check(lab: Lab, step: Step, index: int, ctx: CheckContext) -> CheckResult:
    ref = step.checks[index]
    spec = lab.checks[ref.check]
    ctx.params = dict(ref.params)
    title = ref.title or ref.id
    start = time.monotonic()
    by_hand: list[str] = []
    try:
        outcome = _bounded(lambda: recorded(lambda: spec.fn(ctx), by_hand), spec.timeout)
        if not isinstance(outcome, Outcome):
            raise TypeError(f"returned {type(outcome).__name__}, not an Outcome")
    except _Timeout:
        outcome = Outcome(0.0, f"the check to finish within {spec.timeout:g} s",
                          "it was still running and was abandoned")
    except Exception as exc:
        unreachable = unreachable_error(exc, ctx.endpoint)
        if unreachable is not None:
            raise unreachable from None
        if is_boto(exc) or isinstance(exc, TutorError):
            message = (from_boto(exc, ctx.endpoint.url).message if is_boto(exc)
                       else str(exc))
            outcome = Outcome(0.0, title[0].lower() + title[1:], message)
        else:
            outcome = Outcome(0.0, f"check `{ref.check}` to run",
                              f"it crashed with {type(exc).__name__}: {exc} (a bug in the "
                              "lab: please report it)")
    if not outcome.passed:
        ensure_reachable(ctx)
    seconds = time.monotonic() - start
    fraction = 1.0 if outcome.skipped else outcome.fraction
    return CheckResult(ref.id, title, ref.weight, round(ref.weight * fraction, 4),
                       outcome.passed, outcome.message, outcome.expected, outcome.found,
                       _jsonable(outcome.evidence), outcome.skipped, round(seconds, 3),
                       list(by_hand))


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
            unreachable = unreachable_error(exc, ctx.endpoint)
            if unreachable is not None:
                raise unreachable from None
            # A learner program that lost its LocalStack crashes like a buggy one.
            ensure_reachable(ctx)
            if isinstance(exc, _Timeout):
                message = (f"the scenario `{name}` did not finish within {limit:.0f} s"
                           + ctx.budget_note())
            elif isinstance(exc, TutorError):
                message = exc.message + (f" — {exc.fix}" if exc.fix else "")
            elif is_boto(exc):
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
    confirm_reachable(endpoint.url)
    start = time.monotonic()
    started_at = time.time()
    runner = ScenarioRunner(lab.id, lab.prefix, endpoint, workspace)
    watch = HealthWatch(endpoint, runner)
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
                    reports.extend(unreachable_step(s, endpoint) for s in wanted[number:])
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
