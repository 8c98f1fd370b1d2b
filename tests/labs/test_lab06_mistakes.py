"""Lab 06's checks catch the partial-batch mistakes they teach, against the real LocalStack."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.namespace import Namespace
from tutor.engine.labs.runner import run_checks
from tutor.engine.labs.scenario import ScenarioRunner
from tutor.engine.labs.workspace import copy_solution_files, reset_workspace

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

LAB = Path(__file__).resolve().parents[2] / "labs" / "06-lambda-scaling"


def _partial_batch(endpoint: Endpoint, tmp_path: Path, replace: dict[str, str]
                   ) -> dict[str, object]:
    """The solution with some files swapped, deployed afresh; the partial-batch checks."""
    lab = load_lab(LAB)
    Namespace(lab.prefix, endpoint).delete()
    workspace = reset_workspace(lab, tmp_path)
    copy_solution_files(lab, ["deploy.py", "handler.py"], workspace)
    for rel, text in replace.items():
        (workspace / rel).write_text(text)
    runner = ScenarioRunner(lab.id, lab.prefix, endpoint, workspace)
    try:
        runner.run("deploy.py", timeout=90)
        report = run_checks(lab, endpoint, workspace, steps=["partial-batch"],
                            ignore_blockers=True)
    finally:
        runner.close()
        Namespace(lab.prefix, endpoint).delete()
    return {c.id: c for c in report.steps[0].checks}


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_handler_that_raises_replays_whole_batches(localstack: Endpoint,
                                                   tmp_path: Path) -> None:
    starter_handler = (LAB / "starter" / "handler.py").read_text()
    found = _partial_batch(localstack, tmp_path, {"handler.py": starter_handler})
    assert found["config"].passed  # the mapping is right; the handler is not
    only_bad = found["only-bad"]
    assert not only_bad.passed
    assert "will run again" in only_bad.message
    assert only_bad.evidence["raised"]  # the BadRecord escaped the handler
    assert not found["good-once"].passed


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_batch_item_failures_without_the_mapping_setting_lose_the_bad_ones(
        localstack: Endpoint, tmp_path: Path) -> None:
    deploy = (LAB / "solution" / "deploy.py").read_text()
    setting = ' ' * 20 + 'FunctionResponseTypes=["ReportBatchItemFailures"],\n'
    without = deploy.replace(setting, "")
    assert without != deploy
    found = _partial_batch(localstack, tmp_path, {"deploy.py": without})
    assert not found["config"].passed
    only_bad = found["only-bad"]
    assert not only_bad.passed
    # Lambda ignored batchItemFailures and deleted the bad messages with the rest.
    assert "deleted as if processed" in only_bad.message
