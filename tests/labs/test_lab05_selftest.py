"""Lab 05 proven against the real LocalStack and the tutor's Lambda executor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tutor.engine.labs.corpus import CorpusResult


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(3000)  # the first test that reads `proven` waits for the pool
def test_lab05_selftest(proven: dict[str, CorpusResult]) -> None:
    result = proven["05-async-offloading"].selftests["learner"]
    assert result.ok, "\n".join(result.problems)
    solved = result.solution
    assert solved is not None and solved.passed
    web = next(s for s in solved.steps if s.step_id == "offload-webapp")
    fast = next(c for c in web.checks if c.id == "fast")
    print(f"  web burst: {fast.message}")
    # The offloaded web app answers under the 1 s scan it no longer waits for.
    assert fast.evidence["p95_ms"] < 1000
    uploads = next(s for s in solved.steps if s.step_id == "process-uploads")
    assert all(c.passed for c in uploads.checks)
    starter = result.starter
    assert starter is not None
    assert all(not s.passed for s in starter.steps)
