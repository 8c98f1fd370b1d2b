"""Headless quiz sessions for the CLI and the TUI: practice, review and timed exam.

PracticeSession (also the base of ReviewSession): one question at a time, immediate
feedback.
    PracticeSession.select(banks, store, bank=, topic=, pattern=, count=, seed=, clock=)
    .current -> Presented | None    the question on screen (options in display order)
    .position -> (index, total)
    .answer(letters, seconds=None, observation=None) -> Feedback
        `letters`: "a,c" or {"a","c"} in display order. For a predict question, run
        `observe.run_scenario(session.current.question)` first (in a worker: it takes up
        to 15 s) and pass the Observation: it is graded against what happened and the
        evidence comes back in the Feedback; without one it is graded on the documented
        answer. Stores the answer and the FSRS card.
        Seconds default to the time since the question was shown (session clock).
    .skip() / .next() -> Presented | None    move on (after feedback, call next())
    .done, .summary() -> {"answered", "correct", "skipped"}

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
Predict questions in an exam are graded on the documented answer (no scenario run).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tutor.engine.progress import ProgressStore
from tutor.engine.quiz.model import LETTERS, Bank, Question
from tutor.engine.quiz.observe import Observation
from tutor.engine.quiz.scoring import (
    Graded,
    Presented,
    allocate,
    draw,
    grade,
    parse_answer,
    passed,
    scaled_score,
)
from tutor.engine.quiz.srs import Clock, Schedule, utc_now
from tutor.engine.quiz.taxonomy import DOMAINS, EXAMS, exam_domains
from tutor.errors import TutorError

Item = tuple[Bank, Question]


@dataclass(frozen=True)
class OptionFeedback:
    letter: str
    text: str
    why: str
    correct: bool  # right according to what counted (observation, else documentation)
    chosen: bool


@dataclass(frozen=True)
class Feedback:
    question_id: str
    bank: str
    correct: bool
    chosen: list[str]
    expected: list[str]
    options: list[OptionFeedback]
    docs: str
    observation: Observation | None = None
    discrepancy: str | None = None
    rating: str | None = None
    due: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question_id, "bank": self.bank, "correct": self.correct,
            "chosen": self.chosen, "expected": self.expected, "docs": self.docs,
            "options": [{"letter": o.letter, "text": o.text, "why": o.why,
                         "correct": o.correct, "chosen": o.chosen} for o in self.options],
            "observation": self.observation.to_dict() if self.observation else None,
            "discrepancy": self.discrepancy, "rating": self.rating,
            "due": self.due.isoformat() if self.due else None,
        }


def feedback(bank: Bank, graded: Graded, rating: str | None = None,
             due: datetime | None = None) -> Feedback:
    q = graded.question
    options = [OptionFeedback(LETTERS[i], o.text, o.why, LETTERS[i] in graded.expected,
                              LETTERS[i] in graded.chosen) for i, o in enumerate(q.options)]
    return Feedback(q.id, bank.id, graded.correct, sorted(graded.chosen),
                    sorted(graded.expected), options, q.docs, graded.observation,
                    graded.discrepancy, rating, due)


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


@dataclass(frozen=True)
class DomainScore:
    domain: str
    name: str
    correct: int
    total: int

    @property
    def percent(self) -> float:
        return round(100 * self.correct / self.total, 1) if self.total else 0.0


@dataclass(frozen=True)
class ExamResult:
    exam: str
    total: int
    correct: int
    scaled: int
    passed: bool
    domains: list[DomainScore]
    wrong: list[Feedback]  # every wrong or unanswered question, with all explanations
    seconds: float
    timed_out: bool
    flagged: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"exam": self.exam, "total": self.total, "correct": self.correct,
                "scaled_score": self.scaled, "passed": self.passed, "pass_mark": 720,
                "domains": [{"domain": d.domain, "name": d.name, "correct": d.correct,
                             "total": d.total, "percent": d.percent} for d in self.domains],
                "wrong": [w.to_dict() for w in self.wrong],
                "seconds": round(self.seconds, 1), "timed_out": self.timed_out,
                "flagged": self.flagged}


class ExamSession:
    """A timed exam drawn to domain weights (see the module docstring)."""

    def __init__(self, items: list[Item], exam: str, store: ProgressStore, *,
                 clock: Clock = utc_now, minutes: float | None = None,
                 seed: int | None = None, session_id: str | None = None) -> None:
        self.exam = EXAMS[exam]
        self.items = items
        self.store = store
        self.clock = clock
        self.schedule = Schedule(store, clock)
        rng = random.Random(seed)
        self.presented = [Presented.shuffled(q, rng) for _b, q in items]
        self.minutes = minutes if minutes is not None else \
            self.exam.minutes * len(items) / self.exam.questions
        self.session_id = session_id or uuid.uuid4().hex
        self.started = clock()
        self.index = 0
        self._answers: dict[int, frozenset[str]] = {}
        self._flags: set[int] = set()
        self.result: ExamResult | None = None
        # domain -> (questions its weight asks for, questions the banks could give)
        self.shortfall: dict[str, tuple[int, int]] = {}
        store.save_exam(self.session_id, self.exam.id, self.started.timestamp(), None, None,
                        None, {"questions": [q.id for _b, q in items]})

    @classmethod
    def start(cls, banks: list[Bank], store: ProgressStore, *, exam: str = "saa-c03",
              count: int | None = None, seed: int | None = None, clock: Clock = utc_now,
              minutes: float | None = None) -> ExamSession:
        if exam not in EXAMS:
            raise TutorError(f"no exam '{exam}'", "Unknown exam",
                             "choose one of " + ", ".join(EXAMS))
        domains = exam_domains(exam)
        weights = {d.id: d.weight for d in domains}
        bank_of = {q.id: b for b in banks for q in b.questions}
        pool = [q for b in banks for q in b.questions if q.domain in weights]
        if not pool:
            raise TutorError(f"no questions for {EXAMS[exam].code} in the banks",
                             "Nothing to examine", "add questions with its domains")
        wanted = count or EXAMS[exam].questions
        picked = draw(pool, weights, wanted, random.Random(seed))
        session = cls([(bank_of[q.id], q) for q in picked], exam, store, clock=clock,
                      minutes=minutes, seed=seed)
        ideal = allocate(len(picked), weights, dict.fromkeys(weights, len(picked)))
        got = {d: sum(q.domain == d for q in picked) for d in weights}
        session.shortfall = {d: (ideal[d], got[d]) for d in weights if got[d] < ideal[d]}
        return session

    # --- navigation ----------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self.presented)

    @property
    def current(self) -> Presented:
        return self.presented[self.index]

    def goto(self, index: int) -> Presented:
        if not 0 <= index < self.total:
            raise TutorError(f"there is no question {index + 1}", "No such question",
                             f"choose 1 to {self.total}")
        self.index = index
        return self.current

    def next(self) -> Presented | None:
        if self.index + 1 >= self.total:
            return None
        self.index += 1
        return self.current

    def previous(self) -> Presented | None:
        if self.index == 0:
            return None
        self.index -= 1
        return self.current

    # --- answering -----------------------------------------------------------------

    def time_left(self) -> float:
        spent = (self.clock() - self.started).total_seconds()
        return max(0.0, self.minutes * 60 - spent)

    @property
    def expired(self) -> bool:
        return self.time_left() <= 0

    def _open(self) -> None:
        if self.result is not None:
            raise TutorError("the exam is submitted", "Exam over", "review your results")
        if self.expired:
            raise TutorError("time is up", "Exam over", "submit to see your score")

    def answer(self, letters: str | Iterable[str]) -> frozenset[str]:
        self._open()
        q = self.current.question
        chosen = parse_answer(letters if isinstance(letters, str) else ",".join(letters), q)
        self._answers[self.index] = chosen
        return chosen

    def clear(self) -> None:
        self._open()
        self._answers.pop(self.index, None)

    def selection(self, index: int | None = None) -> frozenset[str]:
        return self._answers.get(self.index if index is None else index, frozenset())

    def flag(self, on: bool | None = None) -> bool:
        want = (self.index not in self._flags) if on is None else on
        (self._flags.add if want else self._flags.discard)(self.index)
        return want

    @property
    def flagged(self) -> list[int]:
        return sorted(self._flags)

    @property
    def unanswered(self) -> list[int]:
        return [i for i in range(self.total) if i not in self._answers]

    # --- scoring -------------------------------------------------------------------

    def submit(self) -> ExamResult:
        if self.result is not None:
            return self.result
        timed_out = self.expired
        per_domain: dict[str, list[int]] = {d.id: [0, 0] for d in exam_domains(self.exam.id)}
        wrong: list[Feedback] = []
        for i, ((bank, _q), shown) in enumerate(zip(self.items, self.presented, strict=True)):
            q = shown.question
            chosen = self._answers.get(i, frozenset())
            graded = grade(q, chosen)
            card, rating = self.schedule.record(
                q.id, bank.id, "exam", graded.correct, shown.file_letters(chosen), None,
                q.difficulty, self.session_id)
            tally = per_domain.setdefault(q.domain, [0, 0])
            tally[0] += graded.correct
            tally[1] += 1
            if not graded.correct:
                wrong.append(feedback(bank, graded, rating.name, card.due))
        correct = sum(t[0] for t in per_domain.values())
        score = scaled_score(correct, self.total)
        finished = self.clock()
        domains = [DomainScore(d, DOMAINS[d].name, c, t) for d, (c, t) in per_domain.items()]
        self.result = ExamResult(
            self.exam.code, self.total, correct, score, passed(score), domains, wrong,
            (finished - self.started).total_seconds(), timed_out,
            [self.presented[i].question.id for i in self.flagged])
        self.store.save_exam(self.session_id, self.exam.id, self.started.timestamp(),
                             finished.timestamp(), score, passed(score),
                             self.result.to_dict() | {"wrong": [w.question_id for w in wrong]})
        return self.result
