"""LocalStack SIGKILLed in the middle of a lab check: not the learner's failure, nothing lost.

The test starts a LocalStack of its own (the session one is shared with other tests), runs
a check whose scenario has a learner program long-polling, kills LocalStack's whole
process group at that moment and measures how long the check run takes to return.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tutor.engine.labs import api
from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.runner import CheckRunInterrupted, StepReport
from tutor.engine.labs.workspace import start_lab
from tutor.engine.progress import ProgressStore
from tutor.errors import LocalStackUnreachable

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "killed"


def _tree_hash(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
                for table in ("lab_results", "lab_state", "quiz_answers", "review_cards",
                              "settings")}
    finally:
        conn.close()


# Where the kill lands: in a scenario (a learner program long-polling) or in a check
# (the tutor's own reads); the steps of the run, the one in progress second.
DURING = {"scenario": ["queue", "consume", "after"], "check": ["queue", "look", "after"]}


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("during", sorted(DURING))
def test_localstack_killed_mid_check(during: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from tutor.cloud.clients import client
    from tutor.cloud.embedded import EmbeddedLocalStack

    lab = load_lab(FIXTURE)
    work = start_lab(lab, root=tmp_path / "workspaces")
    marker = tmp_path / "worker-polling"
    monkeypatch.setenv("TUTOR_RELIABILITY_MARKER", str(marker))
    store = ProgressStore(tmp_path / "progress.db")
    own = EmbeddedLocalStack(data=tmp_path / "localstack")
    endpoint = own.start()
    try:
        client("sqs", endpoint).create_queue(QueueName="lab96-jobs")
        # Progress saved before the fault: a passed step, an answer with its review card.
        first = api.run_checks(lab, endpoint, store=store, steps=["queue"], workspace=work)
        assert [s.status for s in first.steps] == ["passed"]
        store.record_answer("q-1", "bank", "practice", True, ["a"],
                            card=('{"card": 1}', time.time() + 86400))
        store.set_setting("exam_date", "2027-01-15")
        before_rows = _rows(store.path)
        before_files = _tree_hash(work)

        streamed: list[StepReport] = []
        outcome: dict[str, Any] = {}

        def check() -> None:
            try:
                outcome["report"] = api.run_checks(lab, endpoint, store=store, workspace=work,
                                                   on_result=streamed.append,
                                                   steps=DURING[during])
            except BaseException as exc:
                outcome["error"] = exc
            outcome["returned_at"] = time.monotonic()

        thread = threading.Thread(target=check, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not marker.exists() and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the {during} never started reading: {outcome}"
        worker = psutil.Process(int(marker.read_text()))  # in a check: this process
        assert [s.step_id for s in streamed] == ["queue"]  # mid-run: step 2 in progress

        watchdog = psutil.Process(own.pid or 0)
        (localstack,) = watchdog.children()
        group = os.getpgid(localstack.pid)
        assert group not in (os.getpgid(0), watchdog.pid)  # its own group, not ours
        os.killpg(group, signal.SIGKILL)
        killed_at = time.monotonic()
        thread.join(60)
        assert not thread.is_alive(), "the check run did not return within 60 s of the kill"
        took = outcome["returned_at"] - killed_at
        print(f"\ncheck run returned {took:.2f} s after LocalStack was SIGKILLed "
              f"during a {during}")

        error = outcome.get("error")
        assert isinstance(error, CheckRunInterrupted), f"expected the loss, got {outcome}"
        assert isinstance(error, LocalStackUnreachable)  # callers that catch it still do
        assert error.message.startswith(f"Could not reach LocalStack at {endpoint.url}")
        assert "tutor localstack up" in error.fix
        statuses = {s.step_id: s.status for s in error.report.steps}
        lost = DURING[during][1]
        assert statuses == {"queue": "passed", lost: "unreachable", "after": "unreachable"}
        for step in error.report.steps[1:]:
            assert step.note.startswith(f"could not reach LocalStack at {endpoint.url}")
            assert "does not count as an attempt" in step.note
            assert all(c.message.startswith("Could not check: could not reach LocalStack")
                       for c in step.checks)
        assert [s.step_id for s in streamed] == ["queue"]  # lost steps are not streamed
        if during == "scenario":  # the learner's program was stopped with the run
            assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
        assert took < 15, f"noticed the loss only after {took:.1f} s"

        # Saved progress is intact; the step checked before the loss is recorded (it
        # passed); the lost steps are not attempts and fed nothing to the review queue.
        after_rows = _rows(store.path)
        for table, rows in before_rows.items():
            assert set(rows) <= set(after_rows[table]), f"{table} lost rows"
            if table != "lab_results":
                assert after_rows[table] == rows, f"{table} changed"
        new_rows = set(after_rows["lab_results"]) - set(before_rows["lab_results"])
        assert {(row[2], bool(row[5])) for row in new_rows} == {("queue", True)}
        assert [r.step_id for r in store.latest_steps(lab.id).values()] == ["queue"]
        assert store.due_cards(time.time() + 3600) == []
        assert _tree_hash(work) == before_files
        # The store is still writable afterwards.
        store.record_step(lab.id, "queue", 1, 1, True)
        assert len(_rows(store.path)["lab_results"]) == len(after_rows["lab_results"]) + 1
    finally:
        store.close()
        own.stop()
