"""A child for the progress store tests: writes through the real API, says what it committed.

    python progress_writer.py kill DB ROUND        write until killed (SIGKILL tests)
    python progress_writer.py tui DB COUNT         answer quiz questions and open hints
    python progress_writer.py watch DB COUNT       record lab check reports, as `tutor lab watch`

Each line on stdout is printed only after the write it names was committed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# Questions of the course's banks tagged long-polling: the fixture lab's failed step feeds them.
LONG_POLLING = ["po-long-poll-late", "po-queue-wait-default", "po-request-wait-overrides",
                "po-wait-twenty-one", "vis-005", "vis-006", "vis-007", "vis-008", "vis-013",
                "vis-015", "sec-011", "cmp-002"]


def kill_loop(db: Path, round_: str) -> None:
    from tutor.engine.progress import ProgressStore

    store = ProgressStore(db)
    print("ready", flush=True)
    for n in range(1_000_000):
        key = f"{round_}-{n}"
        kind = n % 5
        if kind == 0:
            store.record_step("kill-lab", key, 1.0, 2.0, n % 2 == 0, {"n": n})
            print(f"step {key}", flush=True)
        elif kind == 1:
            store.record_answer(key, "bank", "practice", True, ["a"], 1.5, "s",
                                card=(f'{{"n": {n}}}', time.time()))
            print(f"answer {key}", flush=True)
        elif kind == 2:
            store.set_setting(f"k{key}", n)
            print(f"setting {key}", flush=True)
        elif kind == 3:
            store.save_exam(key, "bank", time.time(), None, None, None, {"n": n})
            print(f"exam {key}", flush=True)
        else:  # a read-modify-write of one shared row
            store.mark_lab("kill-lab", hint=(key, n % 3))
            print(f"hint {key}", flush=True)


def _ready() -> None:
    """Say so, then wait for the test's `go` (both writers start at the same moment)."""
    print("ready", flush=True)
    sys.stdin.readline()


def tui(db: Path, count: int) -> None:
    """The TUI's write paths: quiz answers with their FSRS card, and hints of a lab."""
    from tutor.engine.progress import ProgressStore
    from tutor.engine.quiz.srs import Schedule

    store = ProgressStore(db)
    schedule = Schedule(store)
    _ready()
    for n in range(count):
        qid = LONG_POLLING[n % len(LONG_POLLING)]  # the questions the watch makes due
        schedule.record(qid, "bank", "practice", n % 3 != 0, ["a"], 4.0, 2, "tui")
        print(f"answer {qid} {n}", flush=True)
        store.mark_lab("shared-lab", hint=(f"tui-{n}", 0))
        print(f"hint tui-{n}", flush=True)
        time.sleep(0.03)  # a learner answers slower than a loop: spread over the watch's run


def watch(db: Path, count: int) -> None:
    """`tutor lab watch`: a check report per save, recorded by the runner's `record`."""
    from tutor.engine.labs.loader import load_lab
    from tutor.engine.labs.runner import CheckResult, LabReport, StepReport, record
    from tutor.engine.progress import ProgressStore

    lab = load_lab(Path(__file__).resolve().parent / "fixtures" / "killed")
    store = ProgressStore(db)
    _ready()
    for n in range(count):
        passed = n % 2 == 0
        step = StepReport("queue", "The queue exists", "passed" if passed else "failed",
                          1.0 if passed else 0.0, 1.0,
                          [CheckResult("queue-exists", "q", 1.0, float(passed), passed, "m")])
        record(lab, LabReport(lab.id, [step], 0.1), store)
        print(f"step {n}", flush=True)
        store.mark_lab("shared-lab", hint=(f"watch-{n}", 0))
        print(f"hint watch-{n}", flush=True)


def counter(db: Path, count: int, how: str) -> None:
    """Add 1 to a counter kept in one review card, `count` times (read-modify-write)."""
    import json

    from tutor.engine.progress import ProgressStore

    store = ProgressStore(db)
    _ready()

    def bump(raw: str | None) -> tuple[str, float]:
        return json.dumps({"n": (json.loads(raw)["n"] if raw else 0) + 1}), 0.0

    for _ in range(count):
        if how == "atomic":
            store.update_card("counter", bump)
        else:  # what a caller does without update_card: read, then write
            card_json, due = bump(store.card("counter"))
            store.save_card("counter", card_json, due)


def open_once(db: Path) -> None:
    """Open the store (creating it if new) and write one setting."""
    from tutor.engine.progress import ProgressStore

    store = ProgressStore(db)
    store.set_setting(f"opened-{os.getpid()}", True)
    print("moved-aside" if store.moved_aside else "ok", flush=True)


if __name__ == "__main__":
    mode, path = sys.argv[1], Path(sys.argv[2])
    if mode == "open":
        open_once(path)
    elif mode == "counter":
        counter(path, int(sys.argv[3]), sys.argv[4])
    elif mode == "kill":
        kill_loop(path, sys.argv[3])
    elif mode == "tui":
        tui(path, int(sys.argv[3]))
    else:
        watch(path, int(sys.argv[3]))
