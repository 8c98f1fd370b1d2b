"""The progress store's schema: an ordered list of migrations, never edited once shipped
(a change is a new entry; `PRAGMA user_version` counts the ones applied)."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE lab_results (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        lab_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        score REAL NOT NULL,
        max_score REAL NOT NULL,
        passed INTEGER NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        at REAL NOT NULL
    );
    CREATE INDEX lab_results_lab ON lab_results (lab_id, step_id, at);
    CREATE TABLE lab_state (
        lab_id TEXT PRIMARY KEY,
        started_at REAL,
        completed_at REAL,
        hints_shown TEXT NOT NULL DEFAULT '{}',
        solution_shown INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE quiz_answers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        question_id TEXT NOT NULL,
        bank TEXT NOT NULL,
        mode TEXT NOT NULL,
        correct INTEGER NOT NULL,
        answer TEXT NOT NULL DEFAULT '[]',
        seconds REAL,
        session_id TEXT,
        at REAL NOT NULL
    );
    CREATE INDEX quiz_answers_q ON quiz_answers (question_id, at);
    CREATE TABLE review_cards (
        question_id TEXT PRIMARY KEY,
        card TEXT NOT NULL,
        due REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX review_cards_due ON review_cards (due);
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: exam sessions, so an interrupted timed exam can be reported and resumed
    """
    CREATE TABLE exam_sessions (
        id TEXT PRIMARY KEY,
        bank TEXT NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL,
        scaled_score INTEGER,
        passed INTEGER,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # 3: problems learners report with a question or a check, for the teacher
    """
    CREATE TABLE problem_reports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        item TEXT NOT NULL,
        note TEXT NOT NULL,
        content_version TEXT NOT NULL,
        at REAL NOT NULL
    );
    """,
]
