"""Lab 07 proven against the real LocalStack: fails on the starter, passes on the solution."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.selftest import selftest_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "07-queue-depth-scaling"


def _workers(root: Path) -> list[psutil.Process]:
    """worker.py or scaler.py processes started from `root` that are still alive."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if str(root) in cmd and ("worker.py" in cmd or "scaler.py" in cmd) \
                and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_lab07_selftest(localstack, tmp_path: Path) -> None:
    lab = load_lab(LAB)
    start = time.monotonic()
    result = selftest_lab(lab, localstack, scratch=tmp_path)
    seconds = time.monotonic() - start
    print(f"lab07 self-test {seconds:.1f} s, phases "
          f"{ {k: round(v, 1) for k, v in result.phases.items()} }")
    assert result.ok, "\n".join(result.problems)
    solved = result.solution
    assert solved is not None and solved.passed
    run = next(s for s in solved.steps if s.step_id == "burst")
    for check in run.checks:
        print(f"  {check.id}: {check.message}")
    starter = result.starter
    assert starter is not None
    assert all(not s.passed for s in starter.steps)
    # The scenario stopped the scaler and every consumer: nothing survives it.
    assert _workers(tmp_path) == []
    assert seconds < 120
