"""Headless quiz sessions for the CLI and the TUI: practice, review and timed exam.

PracticeSession (also the base of ReviewSession): one question at a time, immediate
feedback.
    PracticeSession.select(banks, store, bank=, topic=, pattern=, count=, seed=, clock=)
    .current -> Presented | None    the question on screen (options in display order)
    .position -> (index, total)
    .answer(letters, seconds=None, observation=None) -> Feedback
        `letters`: "a,c" or {"a","c"} in display order. For a predict question, run
        `scenarios.run_scenario(session.current.question)` first (in a worker: it takes up
        to 15 s) and pass the Observation: it is graded against what happened and the
        evidence comes back in the Feedback; without one it is graded on the documented
        answer. Stores the answer and the FSRS card.
        Seconds default to the time since the question was shown (session clock).
    .skip() / .next() -> Presented | None    move on (after feedback, call next())
    .done, .summary() -> {"answered", "correct", "skipped"}

PracticeSession.retake(banks, store, which="mistakes"|"flagged", count=): questions whose
latest answer was wrong (until answered right), or flagged in an exam; most recent first.

ReviewSession.due(banks, store, clock=, limit=, seed=): the due FSRS cards, most
forgotten first; with an exam date set, also enough never-seen questions per day to
see all of them before the exam. Same methods as PracticeSession.

ExamSession.start(banks, store, exam="saa-c03"|"dva-c02", count=65, seed=, clock=,
minutes=None): questions drawn to the exam's domain weights; time allowed scales with
the count (130 min for 65).
    .current, .index, .total, .goto(i), .next(), .previous()
    .answer(letters) / .clear()     select (and change) the current question's answer
    .selection(i) -> frozenset[str]
    .flag(on=None) toggles the review flag of the current question; .flagged -> [i...]
    .unanswered -> [i...], .time_left() -> seconds, .expired -> bool
    .shortfall -> {domain: (wanted, got)} for domains the banks are too small for
    .submit() -> ExamResult   scaled score 100-1000 (pass 720), per-domain breakdown,
        feedback for every wrong answer; stores every answer, card and the exam.
    Every answer, flag and move is saved at once. ExamSession.resume(banks, store,
    clock=) -> the last unfinished exam at its first unanswered question (None if there is
    none); its clock ran on while the tutor was closed, and one that ran out meanwhile
    comes back submitted (`.result` set).
Predict questions in an exam are graded on the documented answer (no scenario run).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable

from tutor.engine.progress import ProgressStore
from tutor.engine.quiz.exam import DomainScore, ExamResult, ExamSession
from tutor.engine.quiz.model import Bank, Question
from tutor.engine.quiz.observe import Observation
from tutor.engine.quiz.scoring import (
    Feedback,
    OptionFeedback,
    Presented,
    feedback,
    grade,
    parse_answer,
)
from tutor.engine.quiz.srs import Clock, Schedule, utc_now
from tutor.errors import TutorError

Item = tuple[Bank, Question]


def select(banks: list[Bank], *, bank: str | None = None, topic: str | None = None,
           pattern: str | None = None) -> list[Item]:
    """The questions matching all the given filters; a TutorError names unknown filters."""
    from tutor.engine.quiz.taxonomy import PATTERNS, TAGS, suggest

    if bank is not None and bank not in {b.id for b in banks}:
        ids = [b.id for b in banks]
        raise TutorError(f"no question bank '{bank}'{suggest(bank, ids)}", "Unknown bank",
                         "banks: " + ", ".join(ids))
    if topic is not None and topic not in TAGS:
        raise TutorError(f"no topic '{topic}'{suggest(topic, TAGS)}", "Unknown topic",
                         "topics: " + ", ".join(sorted(set(TAGS))))
    if pattern is not None and pattern not in PATTERNS:
        raise TutorError(f"no pattern '{pattern}'{suggest(pattern, PATTERNS)}",
                         "Unknown pattern", "patterns: " + ", ".join(PATTERNS))
    return [(b, q) for b in banks for q in b.questions
            if (bank is None or b.id == bank) and (topic is None or topic in q.tags)
            and (pattern is None or pattern in q.patterns)]


def mistakes(banks: list[Bank], store: ProgressStore) -> list[Item]:
    """Questions whose latest answer (practice, review or exam) was wrong, most recent
    first: one leaves the list when it is answered right."""
    held = {q.id: (b, q) for b in banks for q in b.questions}
    latest: dict[str, dict[str, object]] = {}
    for answer in store.answers():  # in time order: the last one per question wins
        latest[answer["question_id"]] = answer
    wrong = [a for a in latest.values() if not a["correct"] and a["question_id"] in held]
    wrong.sort(key=lambda a: float(a["at"]), reverse=True)  # type: ignore[arg-type]
    return [held[str(a["question_id"])] for a in wrong]


def flagged(banks: list[Bank], store: ProgressStore) -> list[Item]:
    """Questions flagged in an exam (submitted or not), most recent exam first, until
    answered right after that exam began."""
    held = {q.id: (b, q) for b in banks for q in b.questions}
    right_at: dict[str, float] = {}
    for answer in store.answers():
        if answer["correct"]:
            right_at[answer["question_id"]] = float(answer["at"])
    picked: dict[str, Item] = {}
    for exam in reversed(store.exams()):
        detail = exam["detail"]
        ids = list(detail.get("flagged") or [])  # a submitted exam: question ids
        questions = detail.get("questions") or []
        ids += [questions[i] for i in detail.get("flags") or [] if i < len(questions)]
        for qid in ids:
            if qid in held and qid not in picked and \
                    right_at.get(qid, 0.0) < float(exam["started_at"]):
                picked[qid] = held[qid]
    return list(picked.values())


class PracticeSession:
    """Questions one at a time with immediate feedback (see the module docstring)."""

    mode = "practice"

    def __init__(self, items: list[Item], store: ProgressStore, *, clock: Clock = utc_now,
                 seed: int | None = None, session_id: str | None = None) -> None:
        self.rng = random.Random(seed)
        self.items = items
        self.schedule = Schedule(store, clock)
        self.clock = clock
        self.session_id = session_id or uuid.uuid4().hex
        self.index = 0
        self.results: list[Feedback | None] = []
        self._presented: Presented | None = None
        self._shown_at = clock()
        self._present()

    @classmethod
    def select(cls, banks: list[Bank], store: ProgressStore, *, bank: str | None = None,
               topic: str | None = None, pattern: str | None = None, count: int = 10,
               seed: int | None = None, clock: Clock = utc_now) -> PracticeSession:
        items = select(banks, bank=bank, topic=topic, pattern=pattern)
        if not items:
            raise TutorError("no questions match these filters", "Nothing to practise",
                             "try another --topic/--pattern/--bank, or none")
        random.Random(seed).shuffle(items)
        return cls(items[:count], store, clock=clock, seed=seed)

    @classmethod
    def retake(cls, banks: list[Bank], store: ProgressStore, *, which: str,
               count: int = 10, clock: Clock = utc_now) -> PracticeSession:
        """`which` = "mistakes" (answered wrong, until answered right) or "flagged"
        (flagged in exams), most recent first."""
        if which not in RETAKES:
            raise TutorError(f"nothing to retake called '{which}'", "Unknown retake",
                             "choose " + " or ".join(RETAKES))
        items = RETAKES[which][0](banks, store)
        if not items:
            raise TutorError(RETAKES[which][1], "Nothing to retake", RETAKES[which][2])
        return cls(items[:count], store, clock=clock)

    def _present(self) -> None:
        if self.index < len(self.items):
            self._presented = Presented.shuffled(self.items[self.index][1], self.rng)
            self._shown_at = self.clock()
        else:
            self._presented = None

    @property
    def current(self) -> Presented | None:
        return self._presented

    @property
    def current_bank(self) -> Bank | None:
        return self.items[self.index][0] if self._presented else None

    @property
    def position(self) -> tuple[int, int]:
        return self.index, len(self.items)

    @property
    def done(self) -> bool:
        return self._presented is None

    @property
    def answered(self) -> bool:
        return len(self.results) > self.index

    def answer(self, letters: str | Iterable[str], seconds: float | None = None,
               observation: Observation | None = None) -> Feedback:
        shown, bank = self._presented, self.current_bank
        if shown is None or bank is None:
            raise TutorError("the session is over", "No question", "start a new session")
        if self.answered:
            raise TutorError("this question is already answered", "Answered", "call next()")
        q = shown.question
        chosen = parse_answer(letters if isinstance(letters, str) else ",".join(letters), q)
        if seconds is None:
            seconds = (self.clock() - self._shown_at).total_seconds()
        graded = grade(q, chosen, observation)
        card, rating = self.schedule.record(
            q.id, bank.id, self.mode, graded.correct, shown.file_letters(chosen), seconds,
            q.difficulty, self.session_id)
        result = feedback(bank, graded, rating.name, card.due)
        self.results.append(result)
        return result

    def skip(self) -> Presented | None:
        if not self.answered:
            self.results.append(None)
        return self.next()

    def next(self) -> Presented | None:
        if self._presented is not None and not self.answered:
            raise TutorError("answer or skip this question first", "Not answered", "")
        if self._presented is not None:
            self.index += 1
            self._present()
        return self._presented

    def summary(self) -> dict[str, int]:
        done = [r for r in self.results if r is not None]
        return {"answered": len(done), "correct": sum(r.correct for r in done),
                "skipped": len(self.results) - len(done)}


class ReviewSession(PracticeSession):
    """The due FSRS cards, most forgotten first (plus new ones when an exam date is set)."""

    mode = "review"

    @classmethod
    def due(cls, banks: list[Bank], store: ProgressStore, *, clock: Clock = utc_now,
            limit: int = 20, seed: int | None = None) -> ReviewSession:
        index = {q.id: (b, q) for b in banks for q in b.questions}
        schedule = Schedule(store, clock)
        items = [index[qid] for qid in schedule.due(index)]
        seen = {a["question_id"] for a in store.answers()} | set(store.cards())
        unseen = [index[qid] for qid in index if qid not in seen]
        extra = schedule.new_per_day(len(unseen))
        random.Random(seed).shuffle(unseen)
        items = items[:limit] + unseen[:max(0, min(extra, limit - len(items)))]
        return cls(items, store, clock=clock, seed=seed)




RETAKES = {
    "mistakes": (mistakes, "no question's latest answer is wrong",
                 "practise or sit an exam; questions you miss come back here until "
                 "you answer them right"),
    "flagged": (flagged, "no question is flagged in an exam (or every flagged one has "
                "been answered right since)",
                "flag a question in an exam (`:flag`, or f in the TUI) to come back to it"),
}


__all__ = [
    "RETAKES",
    "DomainScore",
    "ExamResult",
    "ExamSession",
    "Feedback",
    "OptionFeedback",
    "PracticeSession",
    "ReviewSession",
    "flagged",
    "mistakes",
    "select",
]
