"""Lab 06 proven against the real LocalStack and the tutor's Lambda executor."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.selftest import selftest_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "06-lambda-scaling"


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_lab06_selftest(localstack, tmp_path: Path) -> None:
    lab = load_lab(LAB)
    start = time.monotonic()
    result = selftest_lab(lab, localstack, scratch=tmp_path)
    seconds = time.monotonic() - start
    print(f"lab06 self-test {seconds:.1f} s, phases "
          f"{ {k: round(v, 1) for k, v in result.phases.items()} }")
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
