"""Lab 06 proven against the real LocalStack and the tutor's Lambda executor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tutor.engine.labs.corpus import CorpusResult


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(3000)  # the first test that reads `proven` waits for the pool
def test_lab06_selftest(proven: dict[str, CorpusResult]) -> None:
    result = proven["06-lambda-scaling"].selftests["learner"]
    assert result.ok, "\n".join(result.problems)
    solved = result.solution
    assert solved is not None and solved.passed
    batching = next(s for s in solved.steps if s.step_id == "batching-and-concurrency")
    invocations = next(c for c in batching.checks if c.id == "invocations")
    print(f"  {invocations.message}")
    evidence = invocations.evidence
    # 200 events in batches of up to 50: the histogram adds up, and few invocations paid
    # the connection cost.
    assert sum(int(k) * v for k, v in evidence["histogram"].items()) >= 200
    assert evidence["invocations"] <= 12
    assert evidence["peak"] <= evidence["max_concurrency"]
    poison = next(s for s in solved.steps if s.step_id == "partial-batch")
    only_bad = next(c for c in poison.checks if c.id == "only-bad")
    assert only_bad.evidence["stored_once"] == 100
    starter = result.starter
    assert starter is not None
    assert all(not s.passed for s in starter.steps)
