"""Is LocalStack still there during a check run: health watch, probes, the interrupted run."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.model import Step
from tutor.engine.labs.results import CheckResult, LabReport, StepReport
from tutor.engine.labs.scenario import ScenarioRunner
from tutor.errors import LocalStackUnreachable, from_boto

if TYPE_CHECKING:
    from tutor.engine.labs.context import CheckContext


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


WATCH_INTERVAL = 1.0  # seconds between health probes during a check run
# Health probes in a row without an answer (1 s apart, 2 s each) that mean "lost": about
# 30 s. A refused connection is certain at once; a LocalStack busy with a burst on a
# loaded machine can miss a few probes and is still there.
WATCH_SILENCE = 10


class HealthWatch:
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


def is_boto(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(("botocore", "boto3"))


def unreachable_error(exc: BaseException, endpoint: Endpoint) -> LocalStackUnreachable | None:
    if isinstance(exc, LocalStackUnreachable):
        return exc
    if is_boto(exc):
        error = from_boto(exc, endpoint.url)
        if isinstance(error, LocalStackUnreachable):
            return error
    return None


def ensure_reachable(ctx: CheckContext) -> None:
    """After a failure: if LocalStack is gone, that, not the learner, is the cause."""

    if ctx.runner.lost.is_set():  # the health watch stopped the programs: not their fault
        raise LocalStackUnreachable(ctx.endpoint.url, "it stopped answering during the check")
    confirm_reachable(ctx.endpoint.url)


def confirm_reachable(url: str, attempts: int = 2, timeout: float = 3.0) -> None:
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


def unreachable_step(step: Step, endpoint: Endpoint) -> StepReport:
    note = UNREACHABLE_NOTE.format(url=endpoint.url)
    return StepReport(step.id, step.title, "unreachable", 0.0, step.max_score,
                      [CheckResult(r.id, r.title or r.id, r.weight, 0.0, False,
                                   f"Could not check: {note}") for r in step.checks],
                      note=note)
