"""A progress store as plain records (carried in `tutor report` JSON) and the merge that
`tutor import` does: idempotent, and it never loses or overwrites a local answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tutor.engine.progress import SCHEMA_VERSION, ProgressStore
from tutor.errors import TutorError

RECORDS_FORMAT = 1

# Each table, the columns carried, and the columns that make a row the same row on two
# machines (the id columns are local and never carried).
_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "quiz_answers": (("question_id", "bank", "mode", "correct", "answer", "seconds",
                      "session_id", "at"), ("question_id", "mode", "session_id", "at")),
    "lab_results": (("lab_id", "step_id", "score", "max_score", "passed", "detail", "at"),
                    ("lab_id", "step_id", "at")),
    "problem_reports": (("kind", "item", "note", "content_version", "at"),
                        ("kind", "item", "at")),
}


@dataclass
class Merged:
    added: dict[str, int] = field(default_factory=dict)  # table -> rows new here

    @property
    def total(self) -> int:
        return sum(self.added.values())

    def line(self) -> str:
        if not self.total:
            return "nothing new: this store already holds everything in the export"
        return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in self.added.items()
                         if n) + " added"


def dump(store: ProgressStore) -> dict[str, Any]:
    """Every record of the store that another machine could merge (not settings such as
    the learner id: those are the machine's own)."""
    conn = store._conn()
    records: dict[str, Any] = {"format": RECORDS_FORMAT, "schema": SCHEMA_VERSION}
    for table, (columns, _key) in _TABLES.items():
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY at").fetchall()
        records[table] = [dict(row) for row in rows]
    records["review_cards"] = [dict(r) for r in conn.execute(
        "SELECT question_id, card, due, updated_at FROM review_cards")]
    records["lab_state"] = [dict(r) for r in conn.execute("SELECT * FROM lab_state")]
    records["exam_sessions"] = [dict(r) for r in conn.execute("SELECT * FROM exam_sessions")]
    return records


def check_records(records: Any) -> dict[str, Any]:
    if not isinstance(records, dict):
        raise TutorError("this export carries no progress records (it was written by an "
                         "older tutor)", "Nothing to import",
                         "export again with `tutor report -o FILE.json` on the other machine")
    if int(records.get("format", 0)) > RECORDS_FORMAT or \
            int(records.get("schema", 0)) > SCHEMA_VERSION:
        raise TutorError("this export was written by a newer tutor (records format "
                         f"{records.get('format')}, schema {records.get('schema')})",
                         "Newer export", "update the tutor here (git pull; make install), "
                         "then import again")
    return records


def merge(store: ProgressStore, records: Any) -> Merged:
    """Add what `records` holds and this store does not, in one transaction."""
    records = check_records(records)
    merged = Merged()
    with store.transaction() as conn:
        for table, (columns, key) in _TABLES.items():
            have = {tuple(row) for row in conn.execute(
                f"SELECT {', '.join(key)} FROM {table}")}
            added = 0
            for row in records.get(table) or []:
                if not isinstance(row, dict) or any(c not in row for c in columns):
                    continue
                ident = tuple(row[c] for c in key)
                if ident in have:
                    continue
                conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                             f"({', '.join('?' for _ in columns)})",
                             tuple(_cell(row[c]) for c in columns))
                have.add(ident)
                added += 1
            merged.added[table] = added
        merged.added["review_cards"] = _merge_cards(conn, records.get("review_cards") or [])
        merged.added["exam_sessions"] = _merge_exams(conn, records.get("exam_sessions") or [])
        merged.added["lab_state"] = _merge_labs(conn, records.get("lab_state") or [])
    return merged


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


def _merge_cards(conn: Any, rows: list[Any]) -> int:
    """A card is the schedule after its latest answer: the newer copy wins."""
    added = 0
    for row in rows:
        if not isinstance(row, dict) or not {"question_id", "card", "due",
                                              "updated_at"} <= set(row):
            continue
        mine = conn.execute("SELECT updated_at FROM review_cards WHERE question_id = ?",
                            (row["question_id"],)).fetchone()
        if mine is None or float(mine[0]) < float(row["updated_at"]):
            conn.execute("INSERT OR REPLACE INTO review_cards VALUES (?, ?, ?, ?)",
                         (row["question_id"], row["card"], row["due"], row["updated_at"]))
            added += 1
    return added


def _merge_exams(conn: Any, rows: list[Any]) -> int:
    """New exams are added; an exam unfinished here but submitted there takes the result."""
    added = 0
    for row in rows:
        if not isinstance(row, dict) or "id" not in row:
            continue
        mine = conn.execute("SELECT finished_at FROM exam_sessions WHERE id = ?",
                            (row["id"],)).fetchone()
        if mine is not None and (mine[0] is not None or row.get("finished_at") is None):
            continue
        conn.execute("INSERT OR REPLACE INTO exam_sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (row["id"], row["bank"], row["started_at"], row.get("finished_at"),
                      row.get("scaled_score"), row.get("passed"),
                      _cell(row.get("detail") or "{}")))
        added += 1
    return added


def _merge_labs(conn: Any, rows: list[Any]) -> int:
    """A lab's state: the latest start and completion, hints and the solution as far as
    either machine got."""
    changed = 0
    for row in rows:
        if not isinstance(row, dict) or "lab_id" not in row:
            continue
        mine = conn.execute("SELECT * FROM lab_state WHERE lab_id = ?",
                            (row["lab_id"],)).fetchone()
        theirs_hints = json.loads(row.get("hints_shown") or "{}")
        if mine is None:
            conn.execute("INSERT INTO lab_state VALUES (?, ?, ?, ?, ?)",
                         (row["lab_id"], row.get("started_at"), row.get("completed_at"),
                          json.dumps(theirs_hints), int(bool(row.get("solution_shown")))))
            changed += 1
            continue
        hints = json.loads(mine["hints_shown"])
        for step, index in theirs_hints.items():
            hints[step] = max(int(hints.get(step, -1)), int(index))
        values = (_latest(mine["started_at"], row.get("started_at")),
                  _latest(mine["completed_at"], row.get("completed_at")),
                  json.dumps(hints, sort_keys=True),
                  int(bool(mine["solution_shown"]) or bool(row.get("solution_shown"))))
        before = (mine["started_at"], mine["completed_at"],
                  json.dumps(json.loads(mine["hints_shown"]), sort_keys=True),
                  int(mine["solution_shown"]))
        if values != before:
            conn.execute("UPDATE lab_state SET started_at = ?, completed_at = ?, "
                         "hints_shown = ?, solution_shown = ? WHERE lab_id = ?",
                         (*values, row["lab_id"]))
            changed += 1
    return changed


def _latest(a: float | None, b: float | None) -> float | None:
    known = [x for x in (a, b) if x is not None]
    return max(known) if known else None
