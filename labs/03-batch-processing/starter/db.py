"""The jobs database (SQLite, a file in your workspace). Provided: you do not need to edit it."""

import os
import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id       TEXT PRIMARY KEY,          -- one row per job, whatever happens
    customer     TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    written_at   REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
)
"""


def db_path() -> Path:
    """`jobs.db` next to this file, or the file named by JOBS_DB."""
    return Path(__file__).with_name(os.environ.get("JOBS_DB", "jobs.db"))


def connect() -> sqlite3.Connection:
    conn = sqlite3.connect(db_path(), timeout=10)
    conn.execute(SCHEMA)
    return conn


def parse(body: str) -> tuple[str, str, int]:
    """(job_id, customer, amount_cents) from a message body; raises ValueError if invalid."""
    import json

    try:
        job = json.loads(body)
        amount = int(job["amount_cents"])
        job_id, customer = str(job["job"]), str(job["customer"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"invalid job: {body[:60]!r}") from exc
    if amount < 0:
        raise ValueError(f"negative amount in job {job_id}")
    return job_id, customer, amount
