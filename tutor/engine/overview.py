"""The learner's standing for the Progress screen: per lab, per exam pointer, exams, due cards.

Headless and blocking (reads lab.yaml files and the progress store). Lab steps and quiz
questions share one vocabulary, the exam pointers (`taxonomy.TAGS`): a step's pointers
are its `exam` list, or its lab's `exam.pointers` when that list is empty (as
`Lab.tags`), and a question's are its `tags`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from tutor.engine.content_yaml import parse_yaml
from tutor.engine.progress import ProgressStore
from tutor.engine.quiz.model import Bank
from tutor.engine.quiz.srs import Clock, Schedule, utc_now
from tutor.engine.quiz.stats import quiz_stats
from tutor.engine.quiz.taxonomy import TAGS


@dataclass(frozen=True)
class StepInfo:
    id: str
    title: str
    pointers: tuple[str, ...]


@dataclass(frozen=True)
class LabRow:
    id: str
    title: str
    steps: int
    passed: int  # steps whose best result is full marks
    score: float  # mean of the steps' best score fractions, 0..1
    attempts: int  # check runs (the most results recorded for any one step)
    started: bool
    completed: bool

    @property
    def status(self) -> str:
        if self.completed:
            return "complete"
        if self.attempts:
            return "in progress"
        return "started" if self.started else "not started"


@dataclass(frozen=True)
class PointerRow:
    pointer: str
    answered: int  # quiz answers on questions with this tag
    correct: int
    steps: int  # lab steps on this pointer
    steps_passed: int

    @property
    def rate(self) -> float | None:
        """Share of right quiz answers, None before the first answer."""
        return self.correct / self.answered if self.answered else None

    @property
    def touched(self) -> bool:
        return bool(self.answered or self.steps_passed)


@dataclass(frozen=True)
class DueCard:
    question_id: str
    bank: str
    prompt: str
    due: float  # epoch seconds


def lab_steps(lab_dir: Path) -> tuple[str, list[StepInfo]]:
    """A lab's title and steps with their pointers, read leniently ([] when unreadable)."""
    try:
        data = parse_yaml((lab_dir / "lab.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return lab_dir.name, []
    if not isinstance(data, dict):
        return lab_dir.name, []
    exam = data.get("exam") if isinstance(data.get("exam"), dict) else {}
    default = tuple(str(p) for p in (exam or {}).get("pointers") or [])
    steps = []
    for raw in data.get("steps") or []:
        if isinstance(raw, dict) and "id" in raw:
            own = tuple(str(p) for p in raw.get("exam") or [])
            steps.append(StepInfo(str(raw["id"]), str(raw.get("title", raw["id"])),
                                  own or default))
    return str(data.get("title", lab_dir.name)), steps


def _lab_dirs(labs_dir: Path) -> list[Path]:
    return sorted(p for p in labs_dir.glob("[0-9][0-9]-*") if (p / "lab.yaml").is_file())


def attempts(store: ProgressStore) -> dict[tuple[str, str], int]:
    """Check results recorded per (lab, step)."""
    # ProgressStore has no counting query; a read in its own short transaction.
    with store.transaction() as conn:
        rows = conn.execute("SELECT lab_id, step_id, COUNT(*) FROM lab_results "
                            "GROUP BY lab_id, step_id").fetchall()
    return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}


def lab_rows(store: ProgressStore, labs_dir: Path) -> list[LabRow]:
    counts = attempts(store)
    rows = []
    for folder in _lab_dirs(labs_dir):
        title, steps = lab_steps(folder)
        lab_id = folder.name
        best = store.best_steps(lab_id)
        state = store.lab_state(lab_id)
        ids = [s.id for s in steps] or list(best)
        rows.append(LabRow(
            lab_id, title, len(ids), sum(1 for s in ids if best.get(s, 0.0) >= 1.0),
            sum(best.get(s, 0.0) for s in ids) / max(1, len(ids)),
            max((n for (lab, _s), n in counts.items() if lab == lab_id), default=0),
            state["started_at"] is not None, state["completed_at"] is not None))
    return rows


def pointer_rows(store: ProgressStore, banks: list[Bank], labs_dir: Path,
                 clock: Clock = utc_now) -> list[PointerRow]:
    """Every exam pointer: quiz answers (from quiz_stats) and lab steps on it."""
    by_tag = {row["id"]: row for row in quiz_stats(store, banks, clock)["by_tag"]}
    steps: dict[str, list[int]] = {}
    for folder in _lab_dirs(labs_dir):
        best = store.best_steps(folder.name)
        for step in lab_steps(folder)[1]:
            for pointer in step.pointers:
                tally = steps.setdefault(pointer, [0, 0])
                tally[0] += 1
                tally[1] += int(best.get(step.id, 0.0) >= 1.0)
    names = list(TAGS) + sorted((set(by_tag) | set(steps)) - set(TAGS))
    return [PointerRow(name, int(by_tag.get(name, {}).get("answered", 0)),
                       int(by_tag.get(name, {}).get("correct", 0)),
                       *steps.get(name, [0, 0])) for name in names]


def due_cards(store: ProgressStore, banks: list[Bank], limit: int = 200) -> list[DueCard]:
    """Review cards of known questions, soonest due first (due now ones have due <= now)."""
    index: dict[str, tuple[Bank, Any]] = {q.id: (b, q) for b in banks for q in b.questions}
    cards = sorted((due, qid) for qid, (_card, due) in store.cards().items() if qid in index)
    return [DueCard(qid, index[qid][0].id, str(index[qid][1].prompt), due)
            for due, qid in cards[:limit]]


def exam_date(store: ProgressStore) -> date | None:
    return Schedule(store).exam_date


def set_exam_date(store: ProgressStore, text: str) -> date | None:
    """Store the exam date ('' clears it); a TutorError for text that is not a date."""
    from tutor.engine.quiz.srs import parse_exam_date

    when = parse_exam_date(text) if text.strip() else None
    Schedule(store).set_exam_date(when)
    return when


def days_left(exam: date, now: datetime | None = None) -> int:
    """Whole days from today until the exam (0 on the day, negative after it)."""
    return (exam - (now or utc_now()).date()).days
