"""Lab 10 proven against the real LocalStack: fails on the starter, passes on the solution."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tutor.engine.labs.corpus import CorpusResult


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(3000)  # the first test that reads `proven` waits for the pool
def test_lab10_selftest(proven: dict[str, CorpusResult]) -> None:
    result = proven["10-step-functions-wait"].selftests["learner"]
    assert result.ok, "\n".join(result.problems)
    solved = result.solution
    assert solved is not None and solved.passed
    hard = next(s for s in solved.steps if s.step_id == "survive-failures")
    found = {c.id: c for c in hard.checks}
    # The lost task ended by its heartbeat (about 6 s), long before TimeoutSeconds (20 s).
    assert found["lost-times-out"].evidence["execution"]["seconds"] < 10
    assert found["none-running"].passed
    starter = result.starter
    assert starter is not None
    assert all(not s.passed for s in starter.steps)
