"""The tutor SIGKILLed while saving progress, again and again: nothing committed is lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tutor.engine.progress import ProgressStore

WRITER = Path(__file__).resolve().parent / "progress_writer.py"
ROUNDS = 60


def _committed(lines: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for line in lines:
        kind, _, key = line.partition(" ")
        if kind != "ready" and key:
            found.setdefault(kind, set()).add(key)
    return found


def _present(store: ProgressStore) -> dict[str, set[str]]:
    conn = store._conn()
    hints = store.lab_state("kill-lab")["hints_shown"]
    return {
        "step": {r[0] for r in conn.execute("SELECT step_id FROM lab_results")},
        "answer": {r[0] for r in conn.execute(
            "SELECT a.question_id FROM quiz_answers a JOIN review_cards c USING (question_id)")},
        "setting": {r[0][1:] for r in conn.execute("SELECT key FROM settings")},
        "exam": {r[0] for r in conn.execute("SELECT id FROM exam_sessions")},
        "hint": set(hints),
    }


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigkill_while_saving_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "progress.db"
    rng = random.Random(8)  # the same kill moments on every run
    reported: dict[str, set[str]] = {}
    lost: list[str] = []
    kills = during_open = 0
    for round_ in range(ROUNDS):
        child = subprocess.Popen([sys.executable, str(WRITER), "kill", str(db), str(round_)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True)
        assert child.stdout is not None
        if round_ % 10 == 9:  # now and then, a kill while the store opens (migration, check)
            time.sleep(rng.uniform(0.0, 0.15))
            during_open += 1
        else:
            assert child.stdout.readline() == "ready\n", child.stderr.read() if child.stderr else ""
            time.sleep(rng.uniform(0.0, 0.25))
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate(timeout=10)
        assert child.returncode == -signal.SIGKILL, f"the writer ended by itself: {err}"
        kills += 1
        for kind, keys in _committed(out.splitlines()).items():
            reported.setdefault(kind, set()).update(keys)
        store = ProgressStore(db)  # runs PRAGMA quick_check; moves a corrupt file aside
        assert store.moved_aside is None, store.warning
        present = _present(store)
        for kind, keys in reported.items():
            lost.extend(f"{kind} {key}" for key in keys - present[kind])
        store.close()
    total = sum(len(keys) for keys in reported.values())
    print(f"\n{kills} SIGKILLs ({during_open} while opening), {total} committed writes "
          f"reported, {len(lost)} lost")
    assert kills == ROUNDS and total > 500
    assert lost == []
