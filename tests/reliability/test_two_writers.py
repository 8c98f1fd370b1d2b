"""Two tutor processes (the TUI and `tutor lab watch`) write one progress store at once."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tutor.engine.progress import ProgressStore

WRITER = Path(__file__).resolve().parent / "progress_writer.py"
COUNT = 150


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_tui_and_watch_writing_together_lose_no_update(tmp_path: Path) -> None:
    db = tmp_path / "progress.db"
    ProgressStore(db).close()  # created before either starts, as on a learner's machine
    procs = {role: subprocess.Popen([sys.executable, str(WRITER), role, str(db), str(COUNT)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for role in ("tui", "watch")}
    for proc in procs.values():
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs.values():
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = {role: proc.communicate(timeout=150) for role, proc in procs.items()}
    for role, (_out, err) in outputs.items():
        assert procs[role].returncode == 0, f"{role} failed: {err}"
        assert "locked" not in err.lower() and "Traceback" not in err
    reported = {role: out.splitlines() for role, (out, _err) in outputs.items()}
    assert len(reported["tui"]) == len(reported["watch"]) == 2 * COUNT

    store = ProgressStore(db)
    conn = store._conn()
    answers = conn.execute("SELECT COUNT(*) FROM quiz_answers WHERE session_id = 'tui'")
    assert answers.fetchone()[0] == COUNT
    steps = conn.execute("SELECT COUNT(*) FROM lab_results WHERE lab_id = '96-killed'")
    assert steps.fetchone()[0] == COUNT
    # The two really wrote at the same time: their spans of commits overlap.
    tui_span = conn.execute("SELECT MIN(at), MAX(at) FROM quiz_answers").fetchone()
    watch_span = conn.execute("SELECT MIN(at), MAX(at) FROM lab_results").fetchone()
    assert tui_span[0] < watch_span[1] and watch_span[0] < tui_span[1]
    hints = store.lab_state("shared-lab")["hints_shown"]  # one row both update in turn
    assert set(hints) == {f"{role}-{n}" for role in ("tui", "watch") for n in range(COUNT)}
    # Each answered question's card carries its latest review: the watch, making questions
    # due after failed checks, never overwrote a card with an older copy.
    stale = []
    for qid, (raw, _due) in store.cards().items():
        latest = max((a["at"] for a in store.answers(qid)), default=None)
        if latest is None:
            continue
        reviewed = json.loads(raw).get("last_review")
        if reviewed is None or datetime.fromisoformat(reviewed).timestamp() < latest - 1.0:
            stale.append(qid)
    print(f"\n{4 * COUNT} interleaved writes from 2 processes, {len(stale)} lost updates")
    assert stale == []


def _race(db: Path, how: str, count: int) -> int:
    procs = [subprocess.Popen([sys.executable, str(WRITER), "counter", str(db), str(count), how],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "locked" not in err.lower(), err
    store = ProgressStore(db)
    raw = store.card("counter")
    store.close()
    return int(json.loads(raw or '{"n": 0}')["n"])


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_read_modify_write_of_one_card_from_two_processes(tmp_path: Path) -> None:
    """`update_card` reads and writes in one transaction: 2 x 300 increments make 600.

    The same race through `card()` then `save_card()` is run for comparison: it loses
    increments whenever the two processes interleave (printed, not asserted: it is luck).
    """
    atomic = _race(tmp_path / "atomic.db", "atomic", 300)
    naive = _race(tmp_path / "naive.db", "naive", 300)
    print(f"\n2 x 300 increments of one card: update_card kept {atomic}, "
          f"card()+save_card() kept {naive}")
    assert atomic == 600


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_processes_opening_a_new_store_at_once_never_move_it_aside(tmp_path: Path) -> None:
    """Found here: switching a new file to WAL answers SQLITE_BUSY at once, and the store
    took that for corruption — it moved the healthy file aside, or let "database is locked"
    out as a traceback. 25 rounds of 4 processes creating one store at the same moment."""
    rounds, width = 25, 4
    for round_ in range(rounds):
        db = tmp_path / f"round-{round_}" / "progress.db"
        procs = [subprocess.Popen([sys.executable, str(WRITER), "open", str(db)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(width)]
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0 and out == "ok\n", f"round {round_}: {out}{err}"
        assert [p.name for p in db.parent.iterdir() if "corrupt" in p.name] == []
        store = ProgressStore(db)
        opened = store._conn().execute("SELECT COUNT(*) FROM settings").fetchone()[0]
        store.close()
        assert opened == width
    print(f"\n{rounds} x {width} processes created one store at once: none moved aside")
