"""Lab 10 proven against the real LocalStack: fails on the starter, passes on the solution."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.selftest import selftest_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "10-step-functions-wait"


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_lab10_selftest(localstack, tmp_path: Path) -> None:
    lab = load_lab(LAB)
    start = time.monotonic()
    result = selftest_lab(lab, localstack, scratch=tmp_path)
    seconds = time.monotonic() - start
    print(f"lab10 self-test {seconds:.1f} s, phases "
          f"{ {k: round(v, 1) for k, v in result.phases.items()} }")
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
    assert seconds < 90
