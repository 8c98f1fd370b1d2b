"""Exams saved as they go and resumed; retaking mistakes and flagged questions."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tutor.engine.progress import ProgressStore
from tutor.engine.quiz.model import Bank
from tutor.engine.quiz.sessions import ExamSession, PracticeSession, flagged, mistakes
from tutor.errors import TutorError

from .helpers import FixedClock, make_bank, make_question
from .test_quiz_cli import Driver, answer_for


def _right(session: ExamSession, index: int) -> str:
    q = session.presented[index].question
    return next(chr(97 + i) for i, o in enumerate(q.options) if o.correct)


def _wrong(session: ExamSession, index: int) -> str:
    q = session.presented[index].question
    return next(chr(97 + i) for i, o in enumerate(q.options) if not o.correct)


def test_resume_keeps_answers_flags_order_and_the_clock(
        bank_factory: Callable[..., Bank], store: ProgressStore, clock: FixedClock) -> None:
    banks = [bank_factory({"saa-secure": 3, "saa-resilient": 3, "saa-performance": 2,
                           "saa-cost": 2})]
    exam = ExamSession.start(banks, store, exam="saa-c03", count=6, seed=4, clock=clock,
                             minutes=30)
    exam.answer(_right(exam, 0))
    exam.next()
    exam.flag()
    exam.answer(_wrong(exam, 1))
    exam.goto(3)
    exam.answer(_right(exam, 3))
    shown = [(p.question.id, [o.text for o in p.question.options]) for p in exam.presented]
    clock.advance(minutes=10)
    del exam  # the process dies: nothing but the store is left

    again = ExamSession.resume(banks, ProgressStore(store.path), clock=clock)
    assert again is not None and again.result is None
    assert [(p.question.id, [o.text for o in p.question.options])
            for p in again.presented] == shown  # same questions, options in the same order
    assert again.index == 2  # the first unanswered question
    assert again.flagged == [1] and again.unanswered == [2, 4, 5]
    assert again.selection(0) == frozenset(_right(again, 0))
    assert again.selection(1) == frozenset(_wrong(again, 1))
    assert again.time_left() == pytest.approx(20 * 60)
    for i in again.unanswered:
        again.goto(i)
        again.answer(_right(again, i))
    result = again.submit()
    assert (result.correct, result.total, result.timed_out) == (5, 6, False)
    assert result.flagged == [shown[1][0]]
    assert ExamSession.resume(banks, store, clock=clock) is None  # submitted: nothing left


def test_an_exam_that_ran_out_while_closed_is_scored_as_submitted(
        bank_factory: Callable[..., Bank], store: ProgressStore, clock: FixedClock) -> None:
    banks = [bank_factory({"saa-secure": 2, "saa-resilient": 2, "saa-performance": 1,
                           "saa-cost": 1})]
    exam = ExamSession.start(banks, store, exam="saa-c03", count=4, clock=clock, minutes=8)
    exam.answer(_right(exam, 0))
    clock.advance(minutes=9)
    again = ExamSession.resume(banks, store, clock=clock)
    assert again is not None and again.result is not None
    assert again.result.timed_out and (again.result.correct, again.result.total) == (1, 4)
    assert store.exams()[-1]["finished_at"] is not None


def test_resume_goes_on_without_questions_removed_from_the_banks(
        store: ProgressStore, clock: FixedClock) -> None:
    questions = [make_question(f"q-{i}", "dva-development") for i in range(4)]
    exam = ExamSession.start([make_bank(questions)], store, exam="dva-c02", count=4,
                             clock=clock, seed=2)
    gone = exam.presented[0].question.id
    exam.answer(_right(exam, 0))
    exam.next()
    exam.answer(_right(exam, 1))
    kept = make_bank([q for q in questions if q.id != gone])
    again = ExamSession.resume([kept], store, clock=clock)
    assert again is not None and again.dropped == 1 and again.total == 3
    assert again.unanswered == [1, 2]  # the second answer survived the renumbering


def test_mistakes_are_most_recent_first_until_answered_right(
        bank_factory: Callable[..., Bank], store: ProgressStore, clock: FixedClock) -> None:
    banks = [bank_factory({"saa-resilient": 3})]
    for qid, right in (("saa-resilient-000", False), ("saa-resilient-001", False),
                       ("saa-resilient-002", True), ("saa-resilient-000", False)):
        clock.advance(seconds=5)
        store.record_answer(qid, "synthetic", "practice", right, ["b"])
    assert [q.id for _b, q in mistakes(banks, store)] == ["saa-resilient-000",
                                                          "saa-resilient-001"]
    retake = PracticeSession.retake(banks, store, which="mistakes", clock=clock)
    while not retake.done:
        shown = retake.current
        assert shown is not None
        retake.answer(next(chr(97 + i) for i, o in enumerate(shown.question.options)
                           if o.correct))
        retake.next()
    assert mistakes(banks, store) == []
    with pytest.raises(TutorError, match="no question's latest answer is wrong"):
        PracticeSession.retake(banks, store, which="mistakes")


def test_flagged_come_from_exams_until_answered_right_after(
        bank_factory: Callable[..., Bank], store: ProgressStore, clock: FixedClock) -> None:
    banks = [bank_factory({"saa-secure": 2, "saa-resilient": 2, "saa-performance": 1,
                           "saa-cost": 1})]
    exam = ExamSession.start(banks, store, exam="saa-c03", count=4, clock=clock, seed=3)
    exam.flag()
    first = exam.presented[0].question.id
    exam.goto(2)
    exam.flag()
    third = exam.presented[2].question.id
    assert {q.id for _b, q in flagged(banks, store)} == {first, third}  # unfinished exam too
    exam.goto(0)
    exam.answer(_wrong(exam, 0))
    exam.goto(2)
    exam.answer(_right(exam, 2))
    exam.submit()  # the right answer is recorded after the exam began: the flag is done
    assert [q.id for _b, q in flagged(banks, store)] == [first]


@pytest.mark.timeout(120)
def test_a_killed_exam_resumes_from_the_cli(tutor_home: Path) -> None:
    quiz = Driver("quiz", "--exam", "saa-c03", "--count", "4", "--seed", "5", "--json")
    event = quiz.event()
    while event["event"] != "question":
        event = quiz.event()
    first = event
    quiz.send(answer_for(first, right=True))
    second = quiz.event()
    quiz.send(":flag")
    quiz.send(answer_for(second, right=False))
    third = quiz.event()
    assert third["event"] == "question" and third["index"] == 2
    os.killpg(quiz.proc.pid, signal.SIGKILL)  # no submit, no clean-up: as a crash
    quiz.proc.wait(timeout=10)

    again = Driver("quiz", "--resume", "--json")
    assert again.event()["event"] == "resume"
    shown = again.event()
    assert shown["event"] == "question" and shown["index"] == 2 and shown["id"] == third["id"]
    assert 0 < shown["time_left"] <= 480
    again.send(":goto 2")
    back = again.event()
    assert back["id"] == second["id"] and back["flagged"] and back["selection"]
    again.send(":submit")
    result = again.event()
    assert result["event"] == "result" and result["total"] == 4 and result["correct"] == 1
    assert result["flagged"] == [second["id"]]
    assert again.close() == 0

    retake = Driver("quiz", "--flagged", "--json")
    assert retake.event()["id"] == second["id"]
    retake.send(":quit")
    assert retake.event()["event"] == "summary"
    assert retake.close() == 0
