"""The lab engine: clock, workspace, watcher, runner (against the real LocalStack), API, store."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tutor.engine.labs.clock import human
from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.watch import Watcher
from tutor.engine.labs.workspace import changed_files, reset_workspace, start_lab
from tutor.errors import LocalStackUnreachable, TutorError

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "labs"


def test_clock_human_units() -> None:
    assert [human(s) for s in (6, 90, 360, 900, 43200, 1209600)] == [
        "6 s", "90 s", "6 min", "15 min", "12 h", "14 days"]


def test_start_refuses_to_overwrite_learner_files_unless_forced(tmp_path: Path) -> None:
    lab = load_lab(FIXTURES / "valid")
    work = start_lab(lab, root=tmp_path)
    assert (work / "make_queue.py").read_text() == (lab.starter / "make_queue.py").read_text()
    assert start_lab(lab, root=tmp_path) == work  # untouched: starting again is harmless
    (work / "make_queue.py").write_text("# my work\n")
    (work / "notes.txt").write_text("mine")
    assert changed_files(lab, tmp_path) == ["make_queue.py", "notes.txt"]
    with pytest.raises(TutorError) as caught:
        start_lab(lab, root=tmp_path)
    assert "make_queue.py" in caught.value.message and "--force" in caught.value.fix
    assert (work / "make_queue.py").read_text() == "# my work\n"
    start_lab(lab, force=True, root=tmp_path)
    assert changed_files(lab, tmp_path) == []
    assert (tmp_path / "99-valid.bak" / "make_queue.py").read_text() == "# my work\n"


def test_reset_restores_starter_and_removes_added_files(tmp_path: Path) -> None:
    lab = load_lab(FIXTURES / "valid")
    work = start_lab(lab, root=tmp_path)
    (work / "calls.py").unlink()
    (work / "extra.db").write_text("x")
    assert "calls.py (deleted)" in changed_files(lab, tmp_path)
    reset_workspace(lab, tmp_path)
    assert changed_files(lab, tmp_path) == []
    assert not (work / "extra.db").exists()


def test_watcher_sees_saves_but_not_program_outputs(tmp_path: Path) -> None:
    lab = load_lab(FIXTURES / "valid")
    work = start_lab(lab, root=tmp_path)
    watcher = Watcher(lab, work)
    (work / "ledger.jsonl").write_text("{}\n")  # a program's output: ignored
    (work / "data.db").write_text("x")
    assert watcher.wait(interval=0.05, timeout=0.3) == []
    stamp = time.time() + 5
    os.utime(work / "make_queue.py", (stamp, stamp))
    assert watcher.wait(interval=0.05, timeout=2) == ["make_queue.py"]


def test_unreachable_localstack_is_one_tutor_error(tmp_path: Path) -> None:
    from tutor.cloud.embedded import free_port
    from tutor.cloud.endpoint import Endpoint
    from tutor.engine.labs.runner import run_checks

    lab = load_lab(FIXTURES / "valid")
    dead = Endpoint(f"http://127.0.0.1:{free_port()}", "test")
    with pytest.raises(LocalStackUnreachable):
        run_checks(lab, dead, start_lab(lab, root=tmp_path))


@pytest.mark.localstack
def test_runner_blockers_partial_credit_faults_and_skips(localstack: Endpoint,
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tutor.engine.labs import runner as runner_module
    from tutor.engine.labs.runner import run_checks

    lab = load_lab(FIXTURES / "engine")
    work = start_lab(lab, root=tmp_path)
    monkeypatch.setattr(runner_module, "node_binary", lambda: None)
    seen: list[str] = []
    report = run_checks(lab, localstack, work, on_result=lambda s: seen.append(s.step_id))
    assert seen == ["faults", "needs-node", "broken-scenario", "gate", "after"]
    steps = {s.step_id: s for s in report.steps}

    gate = steps["gate"]
    assert gate.status == "failed" and gate.score == 2.0 and gate.max_score == 5.0
    assert gate.checks[0].message == "Expected the queue `lab98-gate` to exist, found none."
    assert gate.checks[1].score == 2.0 and gate.checks[1].evidence == {"seen": 1}
    assert steps["after"].status == "blocked" and "gate" in steps["after"].note

    faults = {c.id: c for c in steps["faults"].checks}
    assert not faults["slow"].passed and "within 0.5 s" in faults["slow"].message
    assert faults["slow"].seconds < 2
    assert not faults["crash"].passed and "ValueError: a bug in the lab" in faults[
        "crash"].message
    assert not faults["aws-error"].passed
    assert "AWS said" in faults["aws-error"].message and "Traceback" not in faults[
        "aws-error"].message
    assert faults["skip"].passed and faults["skip"].skipped
    assert steps["faults"].status == "failed"

    node = steps["needs-node"]
    assert node.status == "skipped" and node.passed and "Node.js" in node.note

    broken = steps["broken-scenario"]
    assert broken.status == "failed" and "exited with code 1" in broken.note
    assert "boom: the learner's bug" in broken.output
    assert report.max_score == 12.0 and not report.passed


@pytest.mark.localstack
def test_scenario_measures_api_calls_and_sqlite_connections(localstack: Endpoint,
                                                           tmp_path: Path) -> None:
    from tutor.engine.labs.runner import run_checks
    from tutor.engine.labs.solution import apply_solution

    lab = load_lab(FIXTURES / "valid")
    work = start_lab(lab, root=tmp_path)
    before = run_checks(lab, localstack, work, ignore_blockers=True)
    assert [s.status for s in before.steps] == ["failed", "failed"]
    assert before.steps[1].checks[0].evidence["calls"] == {}
    apply_solution(lab, localstack, work)
    after = run_checks(lab, localstack, work)
    assert after.passed, after.to_dict()
    assert after.steps[1].checks[0].evidence["calls"]["ListQueues"] == 3
    from tutor.engine.labs.namespace import Namespace

    namespace = Namespace(lab.prefix, localstack)
    deleted = namespace.delete()
    assert [url.rsplit("/", 1)[-1] for url in deleted["sqs"]] == ["lab99-things"]
    assert namespace.resources() == {}


@pytest.mark.localstack
def test_api_records_progress_hints_and_gates_the_solution(localstack: Endpoint,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    from tutor.engine.labs import api
    from tutor.engine.progress import ProgressStore

    lab_root = tmp_path / "labs"
    lab_root.mkdir()
    shutil.copytree(FIXTURES / "valid", lab_root / "99-valid")
    monkeypatch.setenv("TUTOR_LABS_DIR", str(lab_root))
    store = ProgressStore(tmp_path / "progress.db")
    lab = api.get_lab("99")
    work = api.start_lab(lab, store=store)
    assert store.lab_state(lab.id)["started_at"] is not None

    with pytest.raises(TutorError):
        api.reveal_solution(lab, store, "make-queue")
    first = api.next_hint(lab, "make-queue", store)
    second = api.next_hint(lab, "make-queue", store)
    assert (first.index, second.index, second.last) == (0, 1, True)
    assert "make_queue.py" in api.reveal_solution(lab, store, "make-queue")

    report = api.run_checks(lab, localstack, store=store)
    assert not report.passed
    assert store.latest_steps(lab.id)["make-queue"].passed is False
    api.apply_solution(lab, localstack)
    report = api.run_checks(lab, localstack, store=store)
    assert report.passed
    assert store.lab_state(lab.id)["completed_at"] is not None
    status = api.lab_status(lab, store)
    assert [s.passed for s in status.steps] == [True, True] and status.completed
    assert not any(s.solution_closed for s in status.steps)

    result = api.reset_lab(lab, localstack, store=store)
    assert result.deleted.get("sqs") and result.left == {}
    assert changed_files(lab) == [] and work.exists()


def test_engine_imports_without_textual() -> None:
    import subprocess
    import sys

    code = ("import sys, tutor.engine.labs.api, tutor.engine.labs.selftest; "
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_one_rule_opens_a_solution_in_the_cli_and_the_tui(tmp_path: Path) -> None:
    """Passed, every hint seen, or the lab completed or a solution shown: the engine's
    gate (`tutor lab solution`) and the lab screen's answer come from one function."""
    from tutor.engine.labs import api
    from tutor.engine.labs.status import solution_closed
    from tutor.engine.progress import ProgressStore
    from tutor.ui.lab_progress import LabProgress

    lab = api.get_lab("04-retry-dlq")
    step = lab.spec.steps[0]
    store = ProgressStore(tmp_path / "p.db")
    assert "you have seen 0 of" in solution_closed(step, passed=False, hints_seen=0,
                                                   lab_open=False)
    assert not api.solution_allowed(lab, store, step.id)
    assert LabProgress.from_status(api.lab_status(lab, store)).solution_closed(step)
    store.mark_lab(lab.id, solution=True)  # a solution shown (e.g. `--force`) opens all
    assert api.solution_allowed(lab, store, step.id)
    assert LabProgress.from_status(api.lab_status(lab, store)).solution_closed(step) == ""
    assert api.lab_status(lab, store).step(step.id).solution_closed == ""
