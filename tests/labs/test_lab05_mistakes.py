"""Lab 05's checks catch the offloading mistake they teach, against the real LocalStack."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.namespace import Namespace
from tutor.engine.labs.runner import run_checks
from tutor.engine.labs.solution import apply_solution
from tutor.engine.labs.workspace import reset_workspace

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

LAB = Path(__file__).resolve().parents[2] / "labs" / "05-async-offloading"


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_web_app_that_scans_inline_is_slow_under_a_burst(
        localstack: Endpoint, tmp_path: Path) -> None:
    lab = load_lab(LAB)
    Namespace(lab.prefix, localstack).delete()
    workspace = reset_workspace(lab, tmp_path)
    apply_solution(lab, localstack, workspace)
    (workspace / "webapp.py").write_text((LAB / "starter" / "webapp.py").read_text())
    try:
        report = run_checks(lab, localstack, workspace, steps=["offload-webapp"],
                            ignore_blockers=True)
    finally:
        Namespace(lab.prefix, localstack).delete()
    found = {c.id: c for c in report.steps[0].checks}
    assert not found["accepted"].passed
    assert "201" in found["accepted"].message  # it answered "created", after the work
    fast = found["fast"]
    assert not fast.passed
    # Every request waited for the 1 s scan: the p95 shows it.
    assert fast.evidence["p95_ms"] >= 1000
    assert not found["processed"].passed
