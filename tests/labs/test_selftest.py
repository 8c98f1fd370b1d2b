"""Every lab of the course, proven against the real LocalStack (what `tutor dev check` does).

For each lab: its checks fail on the untouched starter, pass after the reference solution,
and reset leaves no resource with the lab's prefix behind. Run once per session in the
`proven` pool, in a classroom learner's kind of account (not LocalStack's default one:
every ARN and bucket name must come from the account); the corpus's slot 0 works in the
default account.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tutor import locations
from tutor.engine.labs.loader import lab_dirs
from tutor.engine.labs.selftest import validate_content

from .test_lab07_scaler_exit import workers_left

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint
    from tutor.engine.labs.corpus import CorpusResult

LABS = [path.name for path in lab_dirs(locations.labs_dir())]


def _check(solved: Any, step_id: str, check_id: str) -> Any:
    step = next(s for s in solved.steps if s.step_id == step_id)
    return next(c for c in step.checks if c.id == check_id)


def _lab05(solved: Any, _scratch: Path) -> None:
    # The offloaded web app answers under the 1 s scan it no longer waits for.
    fast = _check(solved, "offload-webapp", "fast")
    print(f"  web burst: {fast.message}")
    assert fast.evidence["p95_ms"] < 1000


def _lab06(solved: Any, _scratch: Path) -> None:
    # 200 events in batches of up to 50: the histogram adds up, and few invocations paid
    # the connection cost; a poison batch stores every good record once.
    evidence = _check(solved, "batching-and-concurrency", "invocations").evidence
    assert sum(int(k) * v for k, v in evidence["histogram"].items()) >= 200
    assert evidence["invocations"] <= 12
    assert evidence["peak"] <= evidence["max_concurrency"]
    assert _check(solved, "partial-batch", "only-bad").evidence["stored_once"] == 100


def _lab07(_solved: Any, scratch: Path) -> None:
    # The scenario stopped the scaler and every consumer: nothing survives it.
    assert workers_left(scratch) == []


def _lab10(solved: Any, _scratch: Path) -> None:
    # The lost task ended by its heartbeat (about 6 s), long before TimeoutSeconds (20 s).
    assert _check(solved, "survive-failures", "lost-times-out").evidence[
        "execution"]["seconds"] < 10


# What a lab's solved run must show beyond "every step passed": the evidence its checks
# found (a check that passes for the wrong reason is caught here).
EVIDENCE: dict[str, Callable[[Any, Path], None]] = {
    "05-async-offloading": _lab05, "06-lambda-scaling": _lab06,
    "07-queue-depth-scaling": _lab07, "10-step-functions-wait": _lab10}


def test_all_content_is_valid() -> None:
    assert validate_content(locations.labs_dir(), locations.quizzes_dir()) == []


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(3000)  # the first test that reads `proven` waits for the pool
@pytest.mark.parametrize("lab_id", LABS)
def test_lab_selftest(lab_id: str, localstack: Endpoint,
                      proven: dict[str, CorpusResult]) -> None:
    result = proven[lab_id].selftests["learner"]
    assert result.account not in ("", localstack.account)
    assert result.ok, "\n".join(result.problems)
    assert result.solution is not None and result.solution.passed
    assert result.starter is not None and not any(s.passed for s in result.starter.steps)
    assert max(result.check_seconds, default=0.0) < 10.0
    if lab_id in EVIDENCE:
        EVIDENCE[lab_id](result.solution, Path(result.scratch))
