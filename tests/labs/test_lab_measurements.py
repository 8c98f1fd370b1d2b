"""The labs' measurements can fail: a learner's mistake is caught, not just the starter's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tutor import locations
from tutor.cloud.clients import client
from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.namespace import Namespace
from tutor.engine.labs.runner import record, run_checks
from tutor.engine.labs.solution import apply_solution
from tutor.engine.labs.workspace import reset_workspace

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint


def _solved(lab_id: str, endpoint: Endpoint, root: Path) -> tuple[Any, Path]:
    lab = load_lab(locations.labs_dir() / lab_id)
    Namespace(lab.prefix, endpoint).delete()
    work = reset_workspace(lab, root)
    apply_solution(lab, endpoint, work)
    return lab, work


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.usefixtures("after_pool")  # a rate the machine must reach: not beside the pool
@pytest.mark.timeout(3000)
def test_lab02_catches_an_unpaced_writer(localstack: Endpoint, tmp_path: Path) -> None:
    lab, work = _solved("02-write-buffering", localstack, tmp_path)
    # Unpaced, and in two threads (the connection limit allows two): one unpaced thread
    # on a loaded two-core machine is held under 300 rows/s by its own receives (280 seen
    # in CI), which would hide the mistake this test is about.
    writer = work / "writer.py"
    source = writer.read_text()
    for old, new in (("RATE = db.MAX_ROWS_PER_SECOND * 0.8", "RATE = 100_000"),
                     ("    try:\n        main()\n",
                      "    try:\n        import threading\n"
                      "        threading.Thread(target=main, daemon=True).start()\n"
                      "        main()\n")):
        assert old in source
        source = source.replace(old, new)
    writer.write_text(source)
    try:
        report = run_checks(lab, localstack, work, steps=["protect-database"])
    finally:
        Namespace(lab.prefix, localstack).delete()
    checks = {c.id: c for c in report.steps[0].checks}
    assert not checks["write-rate-bounded"].passed
    assert checks["write-rate-bounded"].evidence["peak"] > 300
    assert checks["connections-bounded"].passed and checks["batch-inserts"].passed


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.usefixtures("after_pool")  # duplicates produced in time: not beside the pool
@pytest.mark.timeout(3000)
def test_lab04_sees_duplicates_with_a_short_visibility_timeout(localstack: Endpoint,
                                                               tmp_path: Path) -> None:
    lab, work = _solved("04-retry-dlq", localstack, tmp_path)
    sqs = client("sqs", localstack)
    url = sqs.get_queue_url(QueueName="lab04-orders")["QueueUrl"]
    # 0 s, not 1 s: LocalStack's visibility clock is coarse (a 1 s timeout can last almost
    # 2 s, the worker's processing time), which made duplicates likely but not certain.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
    try:
        report = run_checks(lab, localstack, work, steps=["visibility"])
    finally:
        Namespace(lab.prefix, localstack).delete()
    checks = {c.id: c for c in report.steps[0].checks}
    assert not checks["visibility-timeout"].passed
    found = checks["visibility-timeout"].found
    assert found.startswith("VisibilityTimeout=0 s") and "processed twice" in found
    assert not checks["no-duplicates"].passed
    assert "processed more than once" in checks["no-duplicates"].found


def test_failed_steps_feed_their_exam_tags_to_the_quiz(tmp_path: Path) -> None:
    from tutor.engine.labs.runner import CheckResult, LabReport, StepReport
    from tutor.engine.progress import ProgressStore
    from tutor.engine.quiz.bank import load_banks
    from tutor.engine.quiz.srs import FEED_LIMIT

    lab = load_lab(locations.labs_dir() / "04-retry-dlq")
    store = ProgressStore(tmp_path / "p.db")
    failing = StepReport("visibility", "v", "failed", 1.0, 3.0,
                         [CheckResult("no-duplicates", "t", 2, 0, False, "Expected...")])
    passing = StepReport("create-dlq", "c", "passed", 5.0, 5.0)
    blocked = StepReport("poison", "p", "blocked", 0.0, 3.0)
    record(lab, LabReport(lab.id, [passing, failing, blocked], 1.0), store)
    tags = set(lab.tags(lab.step("visibility")))
    assert tags == {"visibility-timeout", "idempotency"}
    on_pointer = {q.id for bank in load_banks(locations.quizzes_dir())
                  for q in bank.questions if tags & set(q.tags)}
    assert on_pointer, "the banks have questions on these pointers"
    due_now = set(store.due_cards(time.time() + 1))
    # A focused review: questions on the failed pointers, a bounded number of them.
    assert due_now and due_now <= on_pointer
    assert len(due_now) == min(FEED_LIMIT, len(on_pointer))
    assert all(due <= time.time() + 1 for _, due in store.cards().values())
    latest = store.latest_steps(lab.id)
    assert set(latest) == {"create-dlq", "visibility"}  # blocked steps are not recorded
    assert latest["visibility"].detail["checks"][0]["message"] == "Expected..."
    assert store.lab_state(lab.id)["completed_at"] is None
