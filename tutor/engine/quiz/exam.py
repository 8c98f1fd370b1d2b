"""The timed exam: questions drawn to the domain weights, navigation, flags, scaled score.

Its public methods are listed in `tutor.engine.quiz.sessions`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tutor.engine.progress import ProgressStore
from tutor.engine.quiz.model import LETTERS, Bank, Question
from tutor.engine.quiz.scoring import (
    Feedback,
    Presented,
    allocate,
    draw,
    feedback,
    grade,
    parse_answer,
    passed,
    scaled_score,
)
from tutor.engine.quiz.srs import Clock, Schedule, utc_now
from tutor.engine.quiz.taxonomy import DOMAINS, EXAMS, exam_domains
from tutor.errors import TutorError

Item = tuple[Bank, Question]
# The version of the state an exam saves as it goes (`exam_sessions.detail`): a change
# that an older tutor could not resume from bumps it.
RESUME_FORMAT = 1


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
                 seed: int | None = None, session_id: str | None = None,
                 presented: list[Presented] | None = None,
                 started: datetime | None = None) -> None:
        self.exam = EXAMS[exam]
        self.items = items
        self.store = store
        self.clock = clock
        self.schedule = Schedule(store, clock)
        rng = random.Random(seed)
        self.presented = presented or [Presented.shuffled(q, rng) for _b, q in items]
        self.minutes = minutes if minutes is not None else \
            self.exam.minutes * len(items) / self.exam.questions
        self.session_id = session_id or uuid.uuid4().hex
        self.started = started or clock()
        self.index = 0
        self._answers: dict[int, frozenset[str]] = {}
        self._flags: set[int] = set()
        self.result: ExamResult | None = None
        # domain -> (questions its weight asks for, questions the banks could give)
        self.shortfall: dict[str, tuple[int, int]] = {}
        self.dropped = 0  # questions of a resumed exam that the banks no longer hold
        self._save()

    # --- saved as it goes ----------------------------------------------------------

    def _save(self) -> None:
        """Every answer, flag and move is in the store at once: quitting, a crash or a
        closed browser tab loses nothing, and `resume` goes on from here."""
        if self.result is not None:
            return
        answers = {str(i): self.presented[i].file_letters(chosen)
                   for i, chosen in self._answers.items()}
        self.store.save_exam(self.session_id, self.exam.id, self.started.timestamp(), None,
                             None, None, {
                                 "resume": RESUME_FORMAT,
                                 "questions": [q.id for _b, q in self.items],
                                 "orders": [list(p.order) for p in self.presented],
                                 "answers": answers, "flags": sorted(self._flags),
                                 "index": self.index, "minutes": self.minutes})

    @staticmethod
    def pending(store: ProgressStore, clock: Clock = utc_now) -> dict[str, Any] | None:
        """What `resume` would go on with, from the store alone (no banks read): exam,
        questions, answered, seconds left (0 = it will come back scored)."""
        saved = next((e for e in reversed(store.exams()) if e["finished_at"] is None
                      and e["detail"].get("resume") == RESUME_FORMAT
                      and e["bank"] in EXAMS), None)
        if saved is None:
            return None
        detail = saved["detail"]
        spent = clock().timestamp() - float(saved["started_at"])
        left = max(0.0, float(detail.get("minutes") or 0) * 60 - spent)
        return {"id": saved["id"], "exam": EXAMS[saved["bank"]].code,
                "questions": len(detail.get("questions") or []),
                "answered": len(detail.get("answers") or {}), "seconds_left": left}

    @classmethod
    def resume(cls, banks: list[Bank], store: ProgressStore, *,
               clock: Clock = utc_now) -> ExamSession | None:
        """The last unfinished exam, at its first unanswered question, with the time its
        clock has left (it ran on while the tutor was closed, as on the real exam); an
        exam whose time ran out meanwhile comes back submitted (`.result` is set).
        None when there is nothing to resume."""
        saved = next((e for e in reversed(store.exams()) if e["finished_at"] is None
                      and e["detail"].get("resume") == RESUME_FORMAT
                      and e["bank"] in EXAMS), None)
        if saved is None:
            return None
        detail = saved["detail"]
        held = {q.id: (b, q) for b in banks for q in b.questions}
        items: list[Item] = []
        presented: list[Presented] = []
        answers: dict[int, frozenset[str]] = {}
        flags: set[int] = set()
        orders = detail.get("orders") or []
        for old, qid in enumerate(detail.get("questions") or []):
            if qid not in held:
                continue  # removed from the banks since: the exam goes on without it
            bank, question = held[qid]
            order = orders[old] if old < len(orders) else []
            if sorted(order) != list(range(len(question.options))):
                shown = Presented.shuffled(question, random.Random(qid))  # edited since
                letters: list[str] = []
            else:
                shown = Presented(question.model_copy(update={
                    "options": [question.options[i] for i in order]}), tuple(order))
                letters = detail.get("answers", {}).get(str(old), [])
            new = len(items)
            items.append((bank, question))
            presented.append(shown)
            if letters:
                answers[new] = frozenset(LETTERS[shown.order.index(LETTERS.index(x))]
                                         for x in letters)
            if old in detail.get("flags", []):
                flags.add(new)
        if not items:
            return None
        session = cls(items, saved["bank"], store, clock=clock,
                      minutes=float(detail.get("minutes") or 0) or None,
                      session_id=saved["id"], presented=presented,
                      started=datetime.fromtimestamp(saved["started_at"], UTC))
        session._answers, session._flags = answers, flags
        session.dropped = len(detail.get("questions") or []) - len(items)
        session.index = session.unanswered[0] if session.unanswered else 0
        session._save()
        if session.expired:
            session.submit()
        return session

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
        self._save()
        return self.current

    def next(self) -> Presented | None:
        if self.index + 1 >= self.total:
            return None
        self.index += 1
        self._save()
        return self.current

    def previous(self) -> Presented | None:
        if self.index == 0:
            return None
        self.index -= 1
        self._save()
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
        self._save()
        return chosen

    def clear(self) -> None:
        self._open()
        self._answers.pop(self.index, None)
        self._save()

    def selection(self, index: int | None = None) -> frozenset[str]:
        return self._answers.get(self.index if index is None else index, frozenset())

    def flag(self, on: bool | None = None) -> bool:
        want = (self.index not in self._flags) if on is None else on
        (self._flags.add if want else self._flags.discard)(self.index)
        self._save()
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
