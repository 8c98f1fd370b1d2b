"""Lab 05 proven against the real LocalStack and the tutor's Lambda executor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.labs.conftest import SelfTest


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(480)  # the run is shared with test_selftest; the first one pays
def test_lab05_selftest(lab_selftest: Callable[[str], SelfTest]) -> None:
    run = lab_selftest("05-async-offloading")
    result = run.result
    assert result.ok, "\n".join(result.problems)
    solved = result.solution
    assert solved is not None and solved.passed
    web = next(s for s in solved.steps if s.step_id == "offload-webapp")
    fast = next(c for c in web.checks if c.id == "fast")
    print(f"  web burst: {fast.message}")
    # The offloaded web app answers well under the 1 s scan it no longer waits for.
    assert fast.evidence["p95_ms"] < 500
    uploads = next(s for s in solved.steps if s.step_id == "process-uploads")
    assert all(c.passed for c in uploads.checks)
    starter = result.starter
    assert starter is not None
    assert all(not s.passed for s in starter.steps)
