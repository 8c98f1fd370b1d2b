"""The learner's progress in SQLite: lab step results, quiz answers, review cards, settings.

- A schema version in `PRAGMA user_version` and an ordered list of migrations.
- WAL journal and a busy timeout, so two tutor processes can read and write at once.
- Every write is one transaction: a crash mid-write loses nothing that was committed.
- A file that is not a readable database is moved aside (never silently reset) and the
  learner is told where it went.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.engine.progress_schema import MIGRATIONS
from tutor.errors import TutorError

FORMAT = "sqs-tutor-progress"
SCHEMA_VERSION = len(MIGRATIONS)
OPEN_TIMEOUT = 20.0  # seconds a store waits for another process that holds it at open
# SQLite result codes meaning "this file is not a readable database" (the rest, such as
# SQLITE_BUSY, mean "not now" and must never move the learner's file aside).
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


class _IntegrityFailed(sqlite3.DatabaseError):
    """PRAGMA quick_check found damage."""


def _corrupt(exc: sqlite3.DatabaseError) -> bool:
    if isinstance(exc, _IntegrityFailed):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _CORRUPT_CODES


def _retry_busy[T](fn: Callable[[], T], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in (5, 6):  # BUSY, LOCKED
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@dataclass
class StepResult:
    lab_id: str
    step_id: str
    score: float
    max_score: float
    passed: bool
    at: float
    detail: dict[str, Any]


class ProgressStore:
    """Thread-safe access to one progress database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.moved_aside: Path | None = None  # set when a corrupt file was moved away
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + OPEN_TIMEOUT
        while True:
            try:
                self._migrate(self._conn())
                return
            except sqlite3.DatabaseError as exc:
                if _corrupt(exc):
                    self._move_aside(exc)
                    self._migrate(self._conn())
                    return
                # Busy or locked: another tutor process is creating or migrating the same
                # file (two opened at once). Never a reason to move a good file aside.
                self.close()
                if time.monotonic() > deadline:
                    raise TutorError(
                        f"Your progress file {path} stayed locked for {OPEN_TIMEOUT:g} s "
                        f"({exc})", "Progress file busy",
                        "another tutor process may be stuck: close it, then try again") from None
                time.sleep(0.05)

    # --- connection and schema -------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=15.0, isolation_level=None,
                                   check_same_thread=True)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 15000")
            # Switching a new file to WAL answers SQLITE_BUSY at once, without the busy
            # timeout, while another process holds it: retry for a while.
            mode = _retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            if str(mode).lower() != "wal":  # e.g. a network filesystem
                conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise _IntegrityFailed(f"integrity check failed: {check}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                conn.execute("ROLLBACK")
                raise TutorError(
                    f"{self.path} was written by a newer tutor (schema {version}, this one "
                    f"knows {SCHEMA_VERSION})", "Progress file too new",
                    "upgrade the tutor (git pull && make run); the file was left untouched")
            for number in range(version, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[number]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")
            if version < SCHEMA_VERSION:
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (FORMAT,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _move_aside(self, exc: Exception) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        self.path.rename(target)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.rename(target.with_name(target.name + suffix))
        self.moved_aside = target

    @property
    def warning(self) -> str | None:
        """One line for the learner when the file had to be moved aside, else None."""
        if self.moved_aside is None:
            return None
        return (f"Your progress file {self.path} was unreadable; it was kept as "
                f"{self.moved_aside} and a new one was started — send that file to your "
                "teacher or restore it from a backup if you need the old progress")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: all of it is committed, or none of it."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def schema_version(self) -> int:
        return int(self._conn().execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- labs ------------------------------------------------------------------------

    def record_step(self, lab_id: str, step_id: str, score: float, max_score: float,
                    passed: bool, detail: dict[str, Any] | None = None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO lab_results (lab_id, step_id, score, max_score, passed, detail, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (lab_id, step_id, score, max_score, int(passed), json.dumps(detail or {}),
                 time.time()))

    def latest_steps(self, lab_id: str) -> dict[str, StepResult]:
        """The newest result of each step of a lab."""
        rows = self._conn().execute(
            "SELECT * FROM lab_results WHERE lab_id = ? ORDER BY at, id", (lab_id,)).fetchall()
        latest: dict[str, StepResult] = {}
        for row in rows:
            latest[row["step_id"]] = StepResult(
                row["lab_id"], row["step_id"], row["score"], row["max_score"],
                bool(row["passed"]), row["at"], json.loads(row["detail"]))
        return latest

    def step_history(self, lab_id: str) -> list[StepResult]:
        """Every recorded attempt of a lab's steps, oldest first."""
        rows = self._conn().execute(
            "SELECT * FROM lab_results WHERE lab_id = ? ORDER BY at, id", (lab_id,)).fetchall()
        return [StepResult(row["lab_id"], row["step_id"], row["score"], row["max_score"],
                           bool(row["passed"]), row["at"], json.loads(row["detail"]))
                for row in rows]

    def best_steps(self, lab_id: str) -> dict[str, float]:
        rows = self._conn().execute(
            "SELECT step_id, MAX(score / max_score) AS best FROM lab_results "
            "WHERE lab_id = ? AND max_score > 0 GROUP BY step_id", (lab_id,)).fetchall()
        return {row["step_id"]: float(row["best"]) for row in rows}

    def mark_lab(self, lab_id: str, *, started: bool = False, completed: bool = False,
                 hint: tuple[str, int] | None = None, solution: bool = False) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO lab_state (lab_id) VALUES (?)", (lab_id,))
            now = time.time()
            if started:
                conn.execute("UPDATE lab_state SET started_at = ?, completed_at = NULL "
                             "WHERE lab_id = ?", (now, lab_id))
            if completed:
                conn.execute("UPDATE lab_state SET completed_at = ? WHERE lab_id = ?",
                             (now, lab_id))
            if solution:
                conn.execute("UPDATE lab_state SET solution_shown = 1 WHERE lab_id = ?",
                             (lab_id,))
            if hint is not None:
                row = conn.execute("SELECT hints_shown FROM lab_state WHERE lab_id = ?",
                                   (lab_id,)).fetchone()
                shown = json.loads(row["hints_shown"])
                step_id, index = hint
                shown[step_id] = max(int(shown.get(step_id, -1)), index)
                conn.execute("UPDATE lab_state SET hints_shown = ? WHERE lab_id = ?",
                             (json.dumps(shown), lab_id))

    def lab_state(self, lab_id: str) -> dict[str, Any]:
        row = self._conn().execute("SELECT * FROM lab_state WHERE lab_id = ?",
                                   (lab_id,)).fetchone()
        if row is None:
            return {"lab_id": lab_id, "started_at": None, "completed_at": None,
                    "hints_shown": {}, "solution_shown": False}
        return {"lab_id": lab_id, "started_at": row["started_at"],
                "completed_at": row["completed_at"],
                "hints_shown": json.loads(row["hints_shown"]),
                "solution_shown": bool(row["solution_shown"])}

    # --- quizzes ---------------------------------------------------------------------

    def record_answer(self, question_id: str, bank: str, mode: str, correct: bool,
                      answer: list[str] | Any, seconds: float | None = None,
                      session_id: str | None = None,
                      card: tuple[str, float] | Callable[[str | None], tuple[str, float]]
                      | None = None) -> None:
        """Store an answer and, in the same transaction, the question's updated card.

        `card` is the new (json, due), or a function of the stored card's json (None when
        there is none) that returns it: read and written in this one transaction, so a
        concurrent writer of the same card is never overwritten with a stale copy.
        """
        now = time.time()
        with self.transaction() as conn:
            if callable(card):
                row = conn.execute("SELECT card FROM review_cards WHERE question_id = ?",
                                   (question_id,)).fetchone()
                card = card(None if row is None else str(row["card"]))
            conn.execute(
                "INSERT INTO quiz_answers (question_id, bank, mode, correct, answer, seconds,"
                " session_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (question_id, bank, mode, int(correct), json.dumps(answer), seconds,
                 session_id, now))
            if card is not None:
                card_json, due = card
                conn.execute(
                    "INSERT OR REPLACE INTO review_cards (question_id, card, due, updated_at)"
                    " VALUES (?, ?, ?, ?)", (question_id, card_json, due, now))

    def answers(self, question_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM quiz_answers"
        args: tuple[Any, ...] = ()
        if question_id is not None:
            sql += " WHERE question_id = ?"
            args = (question_id,)
        rows = self._conn().execute(sql + " ORDER BY at, id", args).fetchall()
        return [dict(row) | {"answer": json.loads(row["answer"]),
                             "correct": bool(row["correct"])} for row in rows]

    def save_card(self, question_id: str, card_json: str, due: float) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO review_cards (question_id, card, due, updated_at)"
                " VALUES (?, ?, ?, ?)", (question_id, card_json, due, time.time()))

    def update_card(self, question_id: str,
                    change: Callable[[str | None], tuple[str, float] | None]) -> bool:
        """Read, change and write one card in one transaction; False when `change` said None.

        For read-modify-write across processes (the TUI answering while `tutor lab watch`
        makes questions due): `card()` then `save_card()` can overwrite the other's write.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT card FROM review_cards WHERE question_id = ?",
                               (question_id,)).fetchone()
            new = change(None if row is None else str(row["card"]))
            if new is None:
                return False
            card_json, due = new
            conn.execute(
                "INSERT OR REPLACE INTO review_cards (question_id, card, due, updated_at)"
                " VALUES (?, ?, ?, ?)", (question_id, card_json, due, time.time()))
        return True

    def card(self, question_id: str) -> str | None:
        row = self._conn().execute("SELECT card FROM review_cards WHERE question_id = ?",
                                   (question_id,)).fetchone()
        return None if row is None else str(row["card"])

    def cards(self) -> dict[str, tuple[str, float]]:
        rows = self._conn().execute("SELECT question_id, card, due FROM review_cards")
        return {row["question_id"]: (row["card"], row["due"]) for row in rows}

    def due_cards(self, now: float) -> list[str]:
        rows = self._conn().execute(
            "SELECT question_id FROM review_cards WHERE due <= ? ORDER BY due", (now,))
        return [row["question_id"] for row in rows]

    # --- exam sessions and settings --------------------------------------------------

    def save_exam(self, session_id: str, bank: str, started_at: float,
                  finished_at: float | None, scaled_score: int | None, passed: bool | None,
                  detail: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO exam_sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, bank, started_at, finished_at, scaled_score,
                 None if passed is None else int(passed), json.dumps(detail)))

    def exams(self) -> list[dict[str, Any]]:
        rows = self._conn().execute("SELECT * FROM exam_sessions ORDER BY started_at")
        return [dict(row) | {"detail": json.loads(row["detail"])} for row in rows]

    def record_problem(self, kind: str, item: str, note: str, content_version: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO problem_reports (kind, item, note, content_version, at)"
                         " VALUES (?, ?, ?, ?, ?)", (kind, item, note, content_version,
                                                     time.time()))

    def problems(self) -> list[dict[str, Any]]:
        rows = self._conn().execute("SELECT * FROM problem_reports ORDER BY at, id")
        return [dict(row) for row in rows]

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)",
                         (key, json.dumps(value)))

    def setting(self, key: str, default: Any = None) -> Any:
        row = self._conn().execute("SELECT value FROM settings WHERE key = ?",
                                   (key,)).fetchone()
        return default if row is None else json.loads(row["value"])


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def open_store(path: Path | None = None) -> ProgressStore:
    """The learner's store at the standard location (or `path`)."""
    from tutor import locations

    return ProgressStore(path or locations.progress_db())
