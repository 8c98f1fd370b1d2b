"""Building the quiz session a chooser asked for (blocking: reads banks, writes the store)."""

from __future__ import annotations

from tutor.engine.quiz.sessions import RETAKES, ExamSession, PracticeSession, ReviewSession
from tutor.engine.quiz.taxonomy import EXAMS
from tutor.errors import TutorError
from tutor.ui.course import Course
from tutor.ui.dialogs.quiz_chooser import QuizChoice

Session = PracticeSession | ExamSession


def build_session(choice: QuizChoice, course: Course) -> tuple[Session, str]:
    banks = course.banks()
    store = course.store()
    if choice.mode == "resume":
        resumed = ExamSession.resume(banks, store)
        if resumed is None:
            raise TutorError("there is no unfinished exam", "Nothing to resume",
                             "start an exam from a quiz bank (enter on a bank)")
        return resumed, f"{resumed.exam.code} practice exam (resumed)"
    if choice.mode in RETAKES:
        retake = PracticeSession.retake(banks, store, which=choice.mode, count=choice.count)
        return retake, ("Retake: questions you missed" if choice.mode == "mistakes"
                        else "Retake: questions you flagged")
    if choice.mode == "exam" and choice.exam:
        exam = ExamSession.start(banks, store, exam=choice.exam, count=choice.count)
        return exam, f"{EXAMS[choice.exam].code} practice exam"
    if choice.mode == "review":
        review = ReviewSession.due(banks, store, limit=choice.count)
        if not review.items:
            raise TutorError("No cards are due for review right now", "Nothing to review",
                             "practise a bank first; answered questions come back when due")
        due = set(review.schedule.due())
        old = sum(1 for _bank, q in review.items if q.id in due)
        fresh = len(review.items) - old  # new questions, paced to finish before the exam
        plural = "s" if old != 1 else ""
        return review, f"Review: {old} due card{plural}" + (
            f" + {fresh} new before the exam" if fresh else "")
    if choice.topic:
        practice = PracticeSession.select(banks, store, topic=choice.topic, count=choice.count)
        return practice, f"Practice: topic {choice.topic}"
    practice = PracticeSession.select(banks, store, bank=choice.bank, count=choice.count)
    title = next((b.title for b in banks if b.id == choice.bank), choice.bank or "all banks")
    return practice, f"Practice: {title}"
