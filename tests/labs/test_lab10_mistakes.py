"""Lab 10's checks catch the callback mistakes they teach, against the real LocalStack."""

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

LAB = Path(__file__).resolve().parents[2] / "labs" / "10-step-functions-wait"


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_worker_without_heartbeats_loses_the_slow_order(localstack: Endpoint,
                                                        tmp_path: Path) -> None:
    lab = load_lab(LAB)
    Namespace(lab.prefix, localstack).delete()
    workspace = reset_workspace(lab, tmp_path)
    apply_solution(lab, localstack, workspace)
    worker = (LAB / "solution" / "worker.py").read_text()
    silent = worker.replace("warehouse.pack(order, on_step=lambda: sfn.send_task_heartbeat(\n"
                            "            taskToken=token))", "warehouse.pack(order)")
    assert silent != worker
    (workspace / "worker.py").write_text(silent)
    try:
        report = run_checks(lab, localstack, workspace, steps=["survive-failures"],
                            ignore_blockers=True)
    finally:
        Namespace(lab.prefix, localstack).delete()
    found = {c.id: c for c in report.steps[0].checks}
    beats = found["heartbeats"]
    assert not beats.passed
    assert "States.Timeout" in beats.message  # 5 s of packing > HeartbeatSeconds 4
    assert "0 SendTaskHeartbeat" in beats.message
    # The rest of the workflow still holds: the dead worker's task timed out, nothing hangs.
    assert found["lost-times-out"].passed
    assert found["none-running"].passed
