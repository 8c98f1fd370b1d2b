"""FSRS scheduling with a fixed clock, exam-date capping, and failed lab checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fsrs import Card, Rating, State

from tutor.engine.progress import ProgressStore
from tutor.engine.quiz.srs import Schedule, exam_cutoff, feed_failed_check, rating_for

from .helpers import FIXTURES, START, FixedClock


def test_rating_rules() -> None:
    review = Card(card_id=1, state=State.Review, stability=5.0, difficulty=5.0)
    assert rating_for(False, 3, 2) == Rating.Again
    assert rating_for(True, None, 2) == Rating.Good
    assert rating_for(True, 45, 2) == Rating.Good
    assert rating_for(True, 61, 2) == Rating.Hard
    assert rating_for(True, 10, 2) == Rating.Good  # fast, but a new card is never Easy
    assert rating_for(True, 10, 2, review) == Rating.Easy
    assert rating_for(True, 80, 3) == Rating.Good  # hard questions get 90 s


def test_answers_schedule_cards_with_a_fixed_clock(store: ProgressStore, clock: FixedClock
                                                   ) -> None:
    schedule = Schedule(store, clock)
    card, rating = schedule.record("q-1", "b", "practice", False, ["b"], 12.0, 2)
    assert rating == Rating.Again and card.due == START + timedelta(minutes=1)
    card, rating = schedule.record("q-2", "b", "practice", True, ["a"], 12.0, 2)
    assert rating == Rating.Good and card.due == START + timedelta(minutes=10)
    # the answer and the card are stored together
    assert [a["question_id"] for a in store.answers()] == ["q-1", "q-2"]
    assert store.cards()["q-2"][1] == (START + timedelta(minutes=10)).timestamp()
    # Good again when due: graduates to review two days later, then 11 days
    clock.now = card.due
    card, _ = schedule.record("q-2", "b", "review", True, ["a"], 12.0, 2)
    assert card.state == State.Review
    assert card.due == clock.now + timedelta(days=2)
    clock.now = card.due
    card, _ = schedule.record("q-2", "b", "review", True, ["a"], 40.0, 2)
    assert card.due == clock.now + timedelta(days=11)


def test_due_cards_most_forgotten_first(store: ProgressStore, clock: FixedClock) -> None:
    schedule = Schedule(store, clock)
    schedule.record("weak", "b", "practice", False, [], 5.0, 2)    # Again: due in 1 min
    schedule.record("strong", "b", "practice", True, [], 5.0, 2)   # Good: due in 10 min
    assert schedule.due() == []
    clock.advance(days=3)
    assert schedule.due() == ["weak", "strong"]
    assert schedule.due(known=["strong"]) == ["strong"]


def test_exam_date_caps_every_interval(store: ProgressStore, clock: FixedClock) -> None:
    schedule = Schedule(store, clock)
    schedule.set_exam_date(date(2026, 3, 12))  # ten days after START
    cutoff = datetime(2026, 3, 11, tzinfo=UTC)
    card = None
    for _ in range(4):  # Good, Good, Good, Good would reach 46 days without the exam
        card, _ = schedule.record("q-1", "b", "practice", True, ["a"], 5.0, 2)
        assert card.due <= cutoff
        clock.now = max(card.due, clock.now + timedelta(minutes=1))
    assert card is not None and card.due == cutoff
    # without the exam date the same history goes far beyond
    schedule.set_exam_date(None)
    clock.now = cutoff
    far, _ = schedule.review("q-1", True, 5.0, 2)
    assert far.due > datetime(2026, 3, 20, tzinfo=UTC)


def test_exam_cutoff_edges() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert exam_cutoff(date(2026, 3, 10), now) == datetime(2026, 3, 9, tzinfo=UTC)
    assert exam_cutoff(date(2026, 3, 3), now) == now  # exam tomorrow: review now
    assert exam_cutoff(date(2026, 3, 2), now) is None  # exam today or past: no cap


def test_new_questions_per_day_to_see_all_before_the_exam(store: ProgressStore,
                                                         clock: FixedClock) -> None:
    schedule = Schedule(store, clock)
    assert schedule.new_per_day(100) == 0  # no exam date: review serves due cards only
    schedule.set_exam_date(date(2026, 3, 9))  # 7 days
    assert schedule.new_per_day(100) == 15
    assert schedule.new_per_day(0) == 0


def test_failed_lab_check_makes_the_tagged_questions_due_now(store: ProgressStore,
                                                             clock: FixedClock) -> None:
    schedule = Schedule(store, clock)
    schedule.record("good-001", "good", "practice", True, ["a"], 5.0, 2)  # tag dlq
    clock.advance(minutes=5)  # its card is due in 10 minutes
    assert schedule.due() == []
    made = feed_failed_check(store, ["dlq"], quizzes=FIXTURES / "good", clock=clock)
    # Of the two questions tagged dlq, the one answered 5 minutes ago keeps its schedule.
    assert made == ["good-multi"]
    assert schedule.due() == ["good-multi"]
    assert store.cards()["good-multi"][1] == clock.now.timestamp()
    assert feed_failed_check(store, ["no-such-tag"], quizzes=FIXTURES / "good",
                             clock=clock) == []


def test_failed_checks_feed_a_bounded_review(store: ProgressStore, clock: FixedClock) -> None:
    """Re-checking a failing step (watch mode) never piles up more than `limit` cards."""
    from tutor.locations import quizzes_dir

    tags = ["dlq", "redrive", "visibility-timeout"]
    first = feed_failed_check(store, tags, quizzes=quizzes_dir(), clock=clock, limit=5)
    assert len(first) == 5
    assert feed_failed_check(store, tags, quizzes=quizzes_dir(), clock=clock, limit=5) == []
    assert len(Schedule(store, clock).due()) == 5
    clock.advance(minutes=1)
    Schedule(store, clock).record(first[0], "b", "review", True, ["a"], 5.0, 2)  # reviewed
    refill = feed_failed_check(store, tags, quizzes=quizzes_dir(), clock=clock, limit=5)
    assert len(refill) == 1 and refill[0] not in first


def test_cards_survive_reopening_the_store(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "p.db"
    Schedule(ProgressStore(path), clock).record("q", "b", "practice", True, [], 5.0, 1)
    card = Schedule(ProgressStore(path), clock).card("q")
    assert card is not None and card.due == START + timedelta(minutes=10)
