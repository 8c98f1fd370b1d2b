"""Spaced repetition with FSRS: one card per question, updated on every answer.

Ratings (an answer to a multiple-choice question is recognition, not free recall, so we
are stingy with Easy):
- wrong (or unanswered)                              -> Again
- right, but slower than the question's time budget  -> Hard
- right within the budget                            -> Good
- right in under a third of the budget, on a card already in review -> Easy
- right with no timing known (exam answers)          -> Good
The budget grows with difficulty (`TIME_BUDGET`).

Exam date: when the setting `exam_date` (YYYY-MM-DD) is in the future, no card is
scheduled past the day before the exam, so every card comes up once more before it; due
cards are served most-forgotten first (lowest FSRS retrievability).

Fuzzing is off so that schedules are reproducible (tests use a fixed clock).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from fsrs import Card, Rating, Scheduler, State

from tutor.engine.progress import ProgressStore
from tutor.errors import TutorError

Clock = Callable[[], datetime]
TIME_BUDGET = {1: 30.0, 2: 60.0, 3: 90.0}  # seconds for a right answer to count as fluent
EXAM_DATE_KEY = "exam_date"


def utc_now() -> datetime:
    return datetime.now(UTC)


def rating_for(correct: bool, seconds: float | None, difficulty: int,
               card: Card | None = None) -> Rating:
    if not correct:
        return Rating.Again
    if seconds is None:
        return Rating.Good
    budget = TIME_BUDGET.get(difficulty, 60.0)
    if seconds > budget:
        return Rating.Hard
    if seconds <= budget / 3 and card is not None and card.state == State.Review:
        return Rating.Easy
    return Rating.Good


def parse_exam_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise TutorError(f"'{text}' is not a date", "Invalid exam date",
                         "give it as YYYY-MM-DD, e.g. 2026-12-15") from None


def exam_cutoff(exam: date, now: datetime) -> datetime | None:
    """The latest moment a review may be scheduled for, or None when the exam is past."""
    exam_start = datetime.combine(exam, time(0, 0), UTC)
    if exam_start <= now:
        return None
    day_before = exam_start - timedelta(days=1)
    return day_before if day_before > now else now


class Schedule:
    """The learner's FSRS cards in the progress store, with an injectable clock."""

    def __init__(self, store: ProgressStore, clock: Clock = utc_now,
                 scheduler: Scheduler | None = None) -> None:
        self.store = store
        self.clock = clock
        self.scheduler = scheduler or Scheduler(enable_fuzzing=False)

    @property
    def exam_date(self) -> date | None:
        value = self.store.setting(EXAM_DATE_KEY)
        return parse_exam_date(value) if value else None

    def set_exam_date(self, exam: date | None) -> None:
        self.store.set_setting(EXAM_DATE_KEY, exam.isoformat() if exam else None)

    def card(self, question_id: str) -> Card | None:
        raw = self.store.card(question_id)
        return Card.from_json(raw) if raw else None

    def new_card(self, question_id: str) -> Card:
        # A stable id (not creation time): fsrs would otherwise sleep 1 ms per new card.
        return Card(card_id=zlib.crc32(question_id.encode()), due=self.clock())

    def review(self, question_id: str, correct: bool, seconds: float | None,
               difficulty: int) -> tuple[Card, Rating]:
        """The question's card after this answer (not saved: see `record`)."""
        now = self.clock()
        card = self.card(question_id) or self.new_card(question_id)
        rating = rating_for(correct, seconds, difficulty, card)
        card, _log = self.scheduler.review_card(card, rating, now)
        return self.cap(card, now), rating

    def cap(self, card: Card, now: datetime) -> Card:
        """Pull the due date before the exam date, if one is set."""
        exam = self.exam_date
        cutoff = exam_cutoff(exam, now) if exam else None
        if cutoff is not None and card.due > cutoff:
            card.due = cutoff
        return card

    def record(self, question_id: str, bank: str, mode: str, correct: bool,
               answer: list[str], seconds: float | None, difficulty: int,
               session_id: str | None = None) -> tuple[Card, Rating]:
        """Store the answer and the updated card in one transaction.

        The card is read and written inside that transaction: `tutor lab watch` in another
        process may make the same card due meanwhile, and a stale copy would undo it.
        """
        now = self.clock()
        made: dict[str, Any] = {}

        def reviewed(raw: str | None) -> tuple[str, float]:
            card = Card.from_json(raw) if raw else self.new_card(question_id)
            rating = rating_for(correct, seconds, difficulty, card)
            card, _log = self.scheduler.review_card(card, rating, now)
            made["card"], made["rating"] = self.cap(card, now), rating
            return made["card"].to_json(), made["card"].due.timestamp()

        self.store.record_answer(question_id, bank, mode, correct, answer, seconds,
                                 session_id, card=reviewed)
        return made["card"], made["rating"]

    def due(self, known: Iterable[str] | None = None) -> list[str]:
        """Question ids due now, most urgent (least likely remembered) first."""
        now = self.clock()
        allowed = set(known) if known is not None else None
        due: list[tuple[float, float, str]] = []
        for qid, (raw, due_ts) in self.store.cards().items():
            if due_ts > now.timestamp() or (allowed is not None and qid not in allowed):
                continue
            card = Card.from_json(raw)
            recall = self.scheduler.get_card_retrievability(card, now)
            due.append((recall, due_ts, qid))
        return [qid for _r, _d, qid in sorted(due)]

    def new_per_day(self, unseen: int) -> int:
        """How many never-answered questions to add to a review to see all before the exam."""
        exam = self.exam_date
        if exam is None or unseen <= 0:
            return 0
        days = (exam - self.clock().date()).days
        if days <= 0:
            return 0
        return -(-unseen // days)  # ceiling: finish the day before at the latest

    def make_due(self, question_ids: Iterable[str]) -> list[str]:
        """Make these questions' cards due now (creating cards that do not exist yet)."""
        now = self.clock()
        done = []
        for qid in question_ids:
            def due_now(raw: str | None, qid: str = qid) -> tuple[str, float]:
                card = Card.from_json(raw) if raw else self.new_card(qid)
                card.due = now
                return card.to_json(), now.timestamp()

            self.store.update_card(qid, due_now)  # read and write in one transaction
            done.append(qid)
        return done


FEED_LIMIT = 8  # due questions on a failed step's pointers, at most


def feed_failed_check(store: ProgressStore, tags: Iterable[str], *,
                      quizzes: Path | None = None, clock: Clock = utc_now,
                      limit: int = FEED_LIMIT) -> list[str]:
    """A lab check on these exam pointers (tags) failed: make their questions due now.

    At most `limit` questions on these pointers are due at once: a learner who fails a
    step (or re-checks it on every save in watch mode) gets a focused review, not the
    whole bank. The questions sharing the most pointers with the step come first, then
    the easier ones; a question answered in the last day is left to its schedule.
    `quizzes` is the directory of banks (default: the tutor's quizzes). Returns the
    question ids that were made due; unknown tags simply match nothing.
    """
    from tutor import locations
    from tutor.engine.quiz.bank import load_banks

    wanted = set(tags)
    directory = quizzes if quizzes is not None else locations.quizzes_dir()
    matching = [q for bank in load_banks(directory) for q in bank.questions
                if wanted.intersection(q.tags)]
    matching.sort(key=lambda q: (-len(wanted.intersection(q.tags)), q.difficulty, q.id))
    schedule = Schedule(store, clock)
    due_now = set(schedule.due())
    # A question answered in the last day keeps the schedule FSRS just gave it.
    since = clock().timestamp() - 86_400
    recent = {a["question_id"] for a in store.answers() if a["at"] >= since}
    room = max(0, limit - sum(1 for q in matching if q.id in due_now))
    fresh = [q.id for q in matching if q.id not in due_now and q.id not in recent]
    return schedule.make_due(fresh[:room])
