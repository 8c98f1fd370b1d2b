"""Practice, review and exam sessions, headless, with a fixed clock."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from tutor.engine.progress import ProgressStore
from tutor.engine.quiz.bank import load_banks
from tutor.engine.quiz.model import Bank
from tutor.engine.quiz.sessions import ExamSession, PracticeSession, ReviewSession
from tutor.errors import TutorError

from .helpers import FIXTURES, FixedClock, right_letters, wrong_letters


def test_practice_by_topic_gives_feedback_and_records(store: ProgressStore,
                                                      clock: FixedClock) -> None:
    banks = load_banks(FIXTURES / "good")
    session = PracticeSession.select(banks, store, topic="dlq", seed=4, clock=clock)
    assert session.position == (0, 2)
    shown = session.current
    assert shown is not None
    clock.advance(seconds=20)
    fb = session.answer(right_letters(shown))
    assert fb.correct and fb.rating == "Good" and fb.chosen == fb.expected
    assert all(o.why for o in fb.options)
    with pytest.raises(TutorError):
        session.answer("a")  # already answered
    shown = session.next()
    assert shown is not None
    fb = session.answer(wrong_letters(shown))
    assert not fb.correct and fb.rating == "Again"
    assert session.next() is None and session.done
    assert session.summary() == {"answered": 2, "correct": 1, "skipped": 0}
    answers = store.answers()
    assert [a["seconds"] for a in answers] == [20.0, 0.0]
    # history stores the letters the options have in the file, not the shuffled ones
    first = next(a for a in answers if a["correct"])
    ids = {"good-001": ["a"], "good-multi": ["a", "b"]}
    assert first["answer"] == ids[first["question_id"]]
    assert set(store.cards()) == {"good-001", "good-multi"}


def test_practice_filters_name_unknown_values(store: ProgressStore) -> None:
    banks = load_banks(FIXTURES / "good")
    with pytest.raises(TutorError, match="did you mean 'long-polling'"):
        PracticeSession.select(banks, store, topic="long-poling")
    with pytest.raises(TutorError, match="no questions match"):
        PracticeSession.select(banks, store, topic="fifo", pattern="retry-dlq")
    only = PracticeSession.select(banks, store, pattern="retry-dlq")
    assert [q.id for _b, q in only.items] == ["good-multi"]


def test_review_serves_due_cards_and_new_ones_before_an_exam(store: ProgressStore,
                                                             clock: FixedClock) -> None:
    banks = load_banks(FIXTURES / "good")
    assert ReviewSession.due(banks, store, clock=clock).items == []
    practice = PracticeSession.select(banks, store, topic="fifo", clock=clock)
    assert practice.current is not None
    practice.answer(wrong_letters(practice.current))
    clock.advance(minutes=2)
    review = ReviewSession.due(banks, store, clock=clock)
    assert [q.id for _b, q in review.items] == ["good-005"]
    assert review.mode == "review"
    # 6 questions never seen, exam in 3 days: 2 new ones a day join the review
    review.schedule.set_exam_date(date(2026, 3, 5))
    review = ReviewSession.due(banks, store, clock=clock)
    assert review.items[0][1].id == "good-005" and len(review.items) == 3


def _exam(bank_factory: Callable[..., Bank], store: ProgressStore, clock: FixedClock,
          count: int = 20) -> ExamSession:
    bank = bank_factory({"saa-secure": 10, "saa-resilient": 10, "saa-performance": 10,
                         "saa-cost": 10, "dva-security": 10})
    return ExamSession.start([bank], store, exam="saa-c03", count=count, seed=7,
                             clock=clock)


def test_exam_navigation_flags_and_scaled_result(bank_factory: Callable[..., Bank],
                                                 store: ProgressStore,
                                                 clock: FixedClock) -> None:
    exam = _exam(bank_factory, store, clock)
    assert exam.total == 20 and exam.minutes == 40
    domains = [exam.presented[i].question.domain for i in range(20)]
    assert {d: domains.count(d) for d in set(domains)} == {
        "saa-secure": 6, "saa-resilient": 5, "saa-performance": 5, "saa-cost": 4}
    # answer 15 right, 3 wrong, leave 2 unanswered; change one answer on the way back
    for i in range(18):
        exam.goto(i)
        shown = exam.current
        exam.answer(right_letters(shown) if i < 15 else wrong_letters(shown))
    exam.goto(3)
    exam.answer(wrong_letters(exam.current))
    exam.flag()
    assert exam.previous() is not None and exam.index == 2
    exam.goto(3)
    exam.answer(right_letters(exam.current))  # changed my mind back
    assert exam.flagged == [3] and exam.unanswered == [18, 19]
    clock.advance(minutes=30)
    assert exam.time_left() == 600
    result = exam.submit()
    assert (result.correct, result.total) == (15, 20)
    assert result.scaled == 750  # 75 % -> 720 + 280 * 0.03 / 0.28
    assert result.passed and not result.timed_out
    assert sum(d.total for d in result.domains) == 20
    assert sum(d.correct for d in result.domains) == 15
    assert len(result.wrong) == 5 and all(w.options[0].why for w in result.wrong)
    assert result.flagged == [exam.presented[3].question.id]
    saved = store.exams()
    assert saved[0]["scaled_score"] == 750 and saved[0]["passed"] == 1
    assert saved[0]["detail"]["domains"][0]["domain"] == "saa-secure"
    assert len(store.answers()) == 20 and len(store.cards()) == 20
    with pytest.raises(TutorError):
        exam.answer("a")


def test_exam_time_runs_out(bank_factory: Callable[..., Bank], store: ProgressStore,
                            clock: FixedClock) -> None:
    exam = _exam(bank_factory, store, clock, count=4)
    exam.answer(right_letters(exam.current))
    clock.advance(minutes=8, seconds=1)
    assert exam.expired
    with pytest.raises(TutorError, match="time is up"):
        exam.answer("a")
    result = exam.submit()
    assert result.timed_out and result.correct == 1 and result.scaled == 315
    assert result.seconds == timedelta(minutes=8, seconds=1).total_seconds()


def test_exam_of_an_empty_pool_is_an_error(bank_factory: Callable[..., Bank],
                                           store: ProgressStore) -> None:
    bank = bank_factory({"saa-secure": 3})
    with pytest.raises(TutorError, match="no questions for DVA-C02"):
        ExamSession.start([bank], store, exam="dva-c02")


def test_quiz_engine_imports_without_textual_or_boto3() -> None:
    code = ("import sys, tutor.engine.quiz.sessions, tutor.engine.quiz.bank, "
            "tutor.engine.quiz.scenarios, tutor.engine.quiz.stats; "
            "print('textual' in sys.modules, 'boto3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["False", "False"]
