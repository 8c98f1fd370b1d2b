"""Lab 05 proven against the real LocalStack and the tutor's Lambda executor."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.selftest import selftest_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "05-async-offloading"


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_lab05_selftest(localstack, tmp_path: Path) -> None:
    lab = load_lab(LAB)
    start = time.monotonic()
    result = selftest_lab(lab, localstack, scratch=tmp_path)
    seconds = time.monotonic() - start
    print(f"lab05 self-test {seconds:.1f} s, phases "
          f"{ {k: round(v, 1) for k, v in result.phases.items()} }")
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
