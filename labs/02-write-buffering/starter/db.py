"""The logins database (SQLite, a file in your workspace) and the limits its owner set.

Provided: you do not need to edit it. Every connection your program opens is counted.
"""

import sqlite3
from pathlib import Path

# The database team's limits (lab scale; see the README for the production numbers).
MAX_ROWS_PER_SECOND = 300
MAX_CONNECTIONS = 2

PATH = Path(__file__).with_name("logins.db")

SCHEMA = """
CREATE TABLE IF NOT EXISTS logins (
    event_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    ip         TEXT NOT NULL,
    at         REAL NOT NULL,
    -- set by SQLite itself when the row is inserted: the checks measure the write rate here
    written_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
)
"""
INSERT = "INSERT INTO logins (event_id, user_id, ip, at) VALUES (?, ?, ?, ?)"


def connect() -> sqlite3.Connection:
    """Open one connection (each one counts against MAX_CONNECTIONS while it is open)."""
    conn = sqlite3.connect(PATH, timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(SCHEMA)
    conn.commit()
    return conn


def row(body: str) -> tuple[str, str, str, float]:
    """The row for one login event (a message body)."""
    import json

    event = json.loads(body)
    return str(event["event_id"]), str(event["user"]), str(event["ip"]), float(event["at"])
