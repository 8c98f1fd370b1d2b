"""One-line progress figures for the home screen, read from the store (blocking)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutor.engine.catalog import Entry
    from tutor.engine.progress import ProgressStore
    from tutor.engine.quiz.model import Bank


@dataclass(frozen=True)
class BankFigures:
    answered: int
    correct: int
    due: int

    @property
    def accuracy(self) -> str:
        return f"{100 * self.correct / self.answered:.0f}% of {self.answered}" \
            if self.answered else "—"


def lab_line(store: ProgressStore, entry: Entry) -> str:
    """e.g. `2/5 steps · best 64%` (passed; mean best score), `✓ complete`, `not started`."""
    from tutor.engine.overview import lab_steps

    state = store.lab_state(entry.id)
    if state["completed_at"]:
        return "✓ complete"
    best = store.best_steps(entry.id)
    steps = [step.id for step in lab_steps(entry.path)[1]] or list(best)
    if not best:
        return "started" if state["started_at"] else "not started"
    passed = sum(1 for s in steps if best.get(s, 0.0) >= 1.0)
    mean = sum(best.get(s, 0.0) for s in steps) / max(1, len(steps))
    return f"{passed}/{len(steps)} steps · best {mean:.0%}"


def bank_figures(store: ProgressStore, banks: list[Bank]) -> dict[str, BankFigures]:
    tally: dict[str, list[int]] = {b.id: [0, 0, 0] for b in banks}
    for answer in store.answers():
        if answer["bank"] in tally:
            tally[answer["bank"]][0] += 1
            tally[answer["bank"]][1] += int(answer["correct"])
    bank_of = {q.id: b.id for b in banks for q in b.questions}
    for qid in store.due_cards(time.time()):
        if qid in bank_of:
            tally[bank_of[qid]][2] += 1
    return {bid: BankFigures(*t) for bid, t in tally.items()}


@dataclass(frozen=True)
class HomeSummary:
    """The home screen's status lines: reviews due, exam countdown, pointers practised."""

    due: int
    next_due: float | None
    exam_date: str | None  # YYYY-MM-DD
    days_left: int | None
    pointers_touched: int
    pointers: int
    weakest: tuple[tuple[str, float], ...]  # (pointer, right-answer rate), worst first
    pending: dict[str, Any] | None = None  # ExamSession.pending: an exam to resume

    def text(self) -> str:
        if self.due:
            reviews = f"Reviews due: {self.due} (v)"
        elif self.next_due is not None:
            reviews = f"Reviews due: none, next {when(self.next_due)}"
        else:
            reviews = "Reviews due: none yet"
        if self.exam_date is None:
            exam = "Exam date: not set (e)"
        elif self.days_left is not None and self.days_left > 0:
            exam = f"Exam in {self.days_left} day{'s' if self.days_left != 1 else ''} " \
                   f"({self.exam_date})"
        elif self.days_left == 0:
            exam = f"Exam today ({self.exam_date}) — good luck"
        else:
            exam = f"Exam date {self.exam_date} has passed (e to change)"
        line2 = f"Exam pointers practised: {self.pointers_touched}/{self.pointers}"
        if self.weakest:
            line2 += " · weakest: " + ", ".join(f"{p} {r:.0%}" for p, r in self.weakest)
        text = f"{reviews} · {exam} · progress (p)\n{line2}"
        if self.pending:
            p = self.pending
            left = (f"{p['seconds_left'] / 60:.0f} min left" if p["seconds_left"] > 0
                    else "time ran out: it will be scored")
            text += (f"\nUnfinished {p['exam']} exam: {p['answered']}/{p['questions']} "
                     f"answered, {left} — x resumes it")
        return text


def when(ts: float, now: float | None = None) -> str:
    """'now', 'in 40 min', 'in 5 h', 'in 3 days' (a review card's due time)."""
    delta = ts - (time.time() if now is None else now)
    if delta <= 0:
        return "now"
    if delta < 3600:
        return f"in {max(1, round(delta / 60))} min"
    if delta < 2 * 86400:
        return f"in {round(delta / 3600)} h"
    return f"in {round(delta / 86400)} days"


def home_summary(store: ProgressStore, banks: list[Bank], labs_dir: Path) -> HomeSummary:
    from tutor.engine import overview

    now = time.time()
    cards = overview.due_cards(store, banks)
    due = sum(1 for c in cards if c.due <= now)
    upcoming = next((c.due for c in cards if c.due > now), None)
    exam = overview.exam_date(store)
    pointers = overview.pointer_rows(store, banks, labs_dir)
    rated = sorted((r.rate, r.pointer) for r in pointers if r.rate is not None
                   and r.answered >= 2)
    from tutor.engine.quiz.exam import ExamSession

    return HomeSummary(due, upcoming, exam.isoformat() if exam else None,
                       overview.days_left(exam) if exam else None,
                       sum(1 for r in pointers if r.touched), len(pointers),
                       tuple((p, rate) for rate, p in rated[:2] if rate < 1.0),
                       ExamSession.pending(store))
