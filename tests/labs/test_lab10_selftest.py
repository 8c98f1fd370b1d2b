"""Lab 10 proven against the real LocalStack: fails on the starter, passes on the solution."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.labs.conftest import SelfTest


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(480)  # the run is shared with test_selftest; the first one pays
def test_lab10_selftest(lab_selftest: Callable[[str], SelfTest]) -> None:
    run = lab_selftest("10-step-functions-wait")
    result = run.result
    assert result.ok, "\n".join(result.problems)
    solved = result.solution
    assert solved is not None and solved.passed
    hard = next(s for s in solved.steps if s.step_id == "survive-failures")
    found = {c.id: c for c in hard.checks}
    # The lost task ended by its heartbeat (about 4 s), long before TimeoutSeconds (20 s).
    assert found["lost-times-out"].evidence["execution"]["seconds"] < 10
    assert found["none-running"].passed
    starter = result.starter
    assert starter is not None
    assert all(not s.passed for s in starter.steps)
