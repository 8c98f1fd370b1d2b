"""Lab 09's checks catch the FIFO mistakes they teach, against the real LocalStack."""

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

LAB = Path(__file__).resolve().parents[2] / "labs" / "09-fifo"


def _checks(endpoint: Endpoint, tmp_path: Path, step: str, replace: dict[str, str]
            ) -> dict[str, object]:
    """The solution with some files swapped; one step's checks by id."""
    lab = load_lab(LAB)
    Namespace(lab.prefix, endpoint).delete()
    workspace = reset_workspace(lab, tmp_path)
    apply_solution(lab, endpoint, workspace)
    for rel, text in replace.items():
        (workspace / rel).write_text(text)
    try:
        report = run_checks(lab, endpoint, workspace, steps=[step], ignore_blockers=True)
    finally:
        Namespace(lab.prefix, endpoint).delete()
    return {c.id: c for c in report.steps[0].checks}


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_worker_that_goes_on_after_a_failure_breaks_the_group_order(
        localstack: Endpoint, tmp_path: Path) -> None:
    starter_worker = (LAB / "starter" / "worker.py").read_text()
    found = _checks(localstack, tmp_path, "head-of-line", {"worker.py": starter_worker})
    kept = found["group-order-kept"]
    assert not kept.passed
    assert "shipped without being paid" in kept.message
    # the other orders still flowed, and the poison still reached the FIFO DLQ
    assert found["other-groups-flow"].passed
    assert found["poison-in-dlq"].passed


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(90)
def test_content_based_dedup_alone_lets_retries_through(
        localstack: Endpoint, tmp_path: Path) -> None:
    solved = (LAB / "solution" / "producer.py").read_text()
    explicit_id = ',\n' + ' ' * 21 + 'MessageDeduplicationId=event["event_id"])'
    no_dedup_id = solved.replace(explicit_id, ")")
    assert no_dedup_id != solved
    found = _checks(localstack, tmp_path, "groups-and-dedup", {"producer.py": no_dedup_id})
    dedup = found["deduplicated"]
    assert not dedup.passed
    assert "more than once" in dedup.message  # the retries carried a new body
    assert found["group-per-order"].passed
