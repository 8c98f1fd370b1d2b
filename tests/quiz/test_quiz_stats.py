"""`quiz_stats`: accuracy per domain and tag, due cards, exam date, past exams."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from tutor.engine.progress import ProgressStore
from tutor.engine.quiz.bank import load_banks
from tutor.engine.quiz.model import Bank
from tutor.engine.quiz.sessions import ExamSession
from tutor.engine.quiz.srs import Schedule
from tutor.engine.quiz.stats import quiz_stats

from .helpers import FIXTURES, FixedClock


def test_stats_after_some_answers(store: ProgressStore, clock: FixedClock) -> None:
    banks = load_banks(FIXTURES / "good")
    schedule = Schedule(store, clock)
    schedule.record("good-001", "good", "practice", True, ["a"], 5.0, 1)   # dlq
    schedule.record("good-multi", "good", "practice", False, ["c"], 5.0, 1)  # dlq, retry
    schedule.record("good-005", "good", "practice", True, ["a"], 5.0, 1)   # fifo
    schedule.set_exam_date(date(2026, 4, 1))
    clock.advance(minutes=2)  # the wrong answer (Again, 1 min) is due now
    report = quiz_stats(store, banks, clock)
    assert (report["questions"], report["answered"], report["correct"]) == (7, 3, 2)
    assert report["accuracy"] == 66.7 and report["seen"] == 3
    by_domain = {r["id"]: (r["correct"], r["answered"]) for r in report["by_domain"]}
    assert by_domain == {"saa-resilient": (1, 2), "dva-development": (1, 1)}
    by_tag = {r["id"]: (r["correct"], r["answered"]) for r in report["by_tag"]}
    assert by_tag == {"dlq": (1, 2), "retry": (0, 1), "fifo": (1, 1)}
    assert (report["cards"], report["due_now"]) == (3, 1)
    assert report["exam_date"] == "2026-04-01"


def test_stats_list_exams_and_shortfall(bank_factory: Callable[..., Bank],
                                        store: ProgressStore, clock: FixedClock) -> None:
    bank = bank_factory({"saa-secure": 2, "saa-resilient": 20, "saa-performance": 20,
                         "saa-cost": 20})
    exam = ExamSession.start([bank], store, exam="saa-c03", count=20, clock=clock, seed=1)
    assert exam.shortfall == {"saa-secure": (6, 2)}
    exam.submit()
    report = quiz_stats(store, [bank], clock)
    assert report["exams"] == [{"exam": "saa-c03", "started_at": clock.now.timestamp(),
                                "scaled_score": 100, "passed": False}]
