"""The progress store: migrations, durability under a killed writer, two writers, corruption."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tutor.engine.progress import SCHEMA_VERSION, ProgressStore
from tutor.errors import TutorError


def test_fresh_store_has_current_schema(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "p.db")
    assert store.schema_version() == SCHEMA_VERSION
    store.record_step("lab04", "dlq", 2, 3, False, {"found": "no redrive policy"})
    store.record_step("lab04", "dlq", 3, 3, True)
    latest = store.latest_steps("lab04")["dlq"]
    assert (latest.score, latest.passed) == (3, True)
    assert store.best_steps("lab04") == {"dlq": 1.0}


def test_old_schema_is_migrated_without_losing_rows(tmp_path: Path) -> None:
    from tutor.engine import progress

    path = tmp_path / "p.db"
    conn = sqlite3.connect(path)
    conn.executescript(progress.MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO quiz_answers (question_id, bank, mode, correct, answer, at) "
                 "VALUES ('vis-001', 'b', 'practice', 1, '[\"a\"]', 1.0)")
    conn.commit()
    conn.close()
    store = ProgressStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert [a["question_id"] for a in store.answers()] == ["vis-001"]
    store.save_exam("e1", "saa-c03", 1.0, 2.0, 800, True, {"domains": {}})
    assert store.exams()[0]["scaled_score"] == 800


def test_store_from_a_newer_tutor_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    ProgressStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(TutorError, match="newer tutor"):
        ProgressStore(path)
    assert path.exists()


def test_corrupt_file_is_moved_aside_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    path.write_bytes(b"this is not a database, it is a learner's hard work" * 100)
    store = ProgressStore(path)
    assert store.moved_aside is not None and store.moved_aside.exists()
    assert store.moved_aside.read_bytes().startswith(b"this is not a database")
    assert store.warning is not None and str(store.moved_aside) in store.warning
    store.record_answer("q1", "b", "practice", True, ["a"])
    assert len(store.answers()) == 1


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from tutor.engine.progress import ProgressStore
    store = ProgressStore(Path(sys.argv[1]))
    store.record_step("lab02", "committed", 1, 1, True)
    with store.transaction() as conn:
        conn.execute("INSERT INTO lab_results (lab_id, step_id, score, max_score, passed, at)"
                     " VALUES ('lab02', 'uncommitted', 1, 1, 1, 0)")
        print("in-transaction", flush=True)
        time.sleep(60)
""")


def test_writer_killed_mid_transaction_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "in-transaction"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    store = ProgressStore(path)
    assert set(store.latest_steps("lab02")) == {"committed"}
    store.record_step("lab02", "after-crash", 1, 1, True)  # the lock was released
    assert set(store.latest_steps("lab02")) == {"committed", "after-crash"}


CONCURRENT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tutor.engine.progress import ProgressStore
    store = ProgressStore(Path(sys.argv[1]))
    for i in range(150):
        store.record_answer(f"{sys.argv[2]}-{i}", "bank", "practice", i % 2 == 0, ["a"],
                            card=("{}", float(i)))
""")


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(path), name])
             for name in ("first", "second")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    store = ProgressStore(path)
    answers = store.answers()
    assert len(answers) == 300
    assert len(store.cards()) == 300
