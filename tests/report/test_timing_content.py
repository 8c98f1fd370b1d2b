"""Time spent from timestamps, and the content version's stability."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tutor import locations
from tutor.engine.report.content import content_version
from tutor.engine.report.timing import IDLE_GAP, time_spent

T0 = 1_780_000_000.0


def test_active_time_sums_short_gaps_and_counts_sittings() -> None:
    # start, checks 5 and 12 min later; next day two checks 3 min apart
    events = [T0, T0 + 300, T0 + 720, None, T0 + 86_400, T0 + 86_580]
    spent = time_spent(events)
    assert spent.active_seconds == 720 + 180
    assert spent.sittings == 2 and spent.idle_gap_seconds == IDLE_GAP
    assert spent.first_activity_at is not None and spent.last_activity_at is not None
    assert spent.first_activity_at.timestamp() == T0
    assert spent.last_activity_at.timestamp() == T0 + 86_580
    # a gap of exactly the idle limit still counts; one second more is a break
    assert time_spent([T0, T0 + IDLE_GAP]).active_seconds == IDLE_GAP
    assert time_spent([T0, T0 + IDLE_GAP + 1]).active_seconds == 0
    assert time_spent([T0, T0 + IDLE_GAP + 1]).sittings == 2
    empty = time_spent([None])
    assert (empty.active_seconds, empty.sittings, empty.first_activity_at) == (0, 0, None)
    # order of events does not matter
    assert time_spent(reversed(events)).active_seconds == 900


def test_content_version_is_stable_and_sees_content_changes(tmp_path: Path) -> None:
    labs, quizzes = tmp_path / "labs", tmp_path / "quizzes"
    shutil.copytree(locations.labs_dir() / "04-retry-dlq", labs / "04-retry-dlq",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(locations.quizzes_dir(), quizzes)
    first = content_version(labs, quizzes)
    assert first.startswith("sha256:") and len(first) == 23
    # a copy elsewhere, caches, installed packages and CRLF line endings change nothing
    moved = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "labs", moved / "labs")
    shutil.copytree(tmp_path / "quizzes", moved / "quizzes")
    (moved / "labs" / "04-retry-dlq" / "__pycache__").mkdir(exist_ok=True)
    (moved / "labs" / "04-retry-dlq" / "__pycache__" / "checks.cpython-313.pyc").write_bytes(b"x")
    (moved / "labs" / "04-retry-dlq" / "node_modules").mkdir()
    (moved / "labs" / "04-retry-dlq" / "node_modules" / "x.js").write_text("1")
    readme = moved / "labs" / "04-retry-dlq" / "README.md"
    readme.write_bytes(readme.read_bytes().replace(b"\n", b"\r\n"))
    assert content_version(moved / "labs", moved / "quizzes") == first
    # one changed word, or a renamed file, is another version
    readme.write_text(readme.read_text() + "more\n")
    assert content_version(moved / "labs", moved / "quizzes") != first
    readme.write_bytes((labs / "04-retry-dlq" / "README.md").read_bytes())
    assert content_version(moved / "labs", moved / "quizzes") == first
    bank = next(quizzes.glob("*.yaml"))
    bank.rename(bank.with_name("99-" + bank.name))
    assert content_version(labs, quizzes) != first


def test_report_engine_imports_without_textual() -> None:
    code = ("import sys, tutor.engine.report.build, tutor.engine.report.classroom, "
            "tutor.engine.report.classhtml, tutor.engine.report.export; "
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "False"
