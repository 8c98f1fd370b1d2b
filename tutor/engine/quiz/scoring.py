"""Grading answers with per-option feedback, AWS-style scaled scores, weighted draws."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tutor.engine.quiz.model import LETTERS, Bank, Question
from tutor.engine.quiz.observe import Observation
from tutor.errors import TutorError

MIN_SCORE, MAX_SCORE, PASS_SCORE = 100, 1000, 720
# AWS does not publish how raw results map to the 100-1000 scale (it equates exam forms).
# We assume the pass mark sits at 72 % correct and map linearly on each side of it, so
# 0 % -> 100, 72 % -> 720, 100 % -> 1000.
PASS_FRACTION = 0.72


def scaled_score(correct: int, total: int) -> int:
    """The 100-1000 score for `correct` of `total` (all-or-nothing per question, like AWS)."""
    if total <= 0:
        return MIN_SCORE
    p = min(max(correct / total, 0.0), 1.0)
    if p < PASS_FRACTION:
        raw = MIN_SCORE + (PASS_SCORE - MIN_SCORE) * p / PASS_FRACTION
    else:
        raw = PASS_SCORE + (MAX_SCORE - PASS_SCORE) * (p - PASS_FRACTION) / (1 - PASS_FRACTION)
    return math.floor(raw + 0.5 + 1e-9)  # half up; the epsilon absorbs float noise


def passed(score: int) -> bool:
    return score >= PASS_SCORE


@dataclass(frozen=True)
class Presented:
    """A question as shown: options in display order; `order[i]` is its index in the file."""

    question: Question
    order: tuple[int, ...]

    @classmethod
    def shuffled(cls, question: Question, rng: random.Random | None) -> Presented:
        order = list(range(len(question.options)))
        if rng is not None:
            rng.shuffle(order)
        shown = question.model_copy(update={"options": [question.options[i] for i in order]})
        return cls(shown, tuple(order))

    def file_letters(self, letters: Iterable[str]) -> list[str]:
        """Display letters -> the letters the options have in the bank file (for history)."""
        return sorted(LETTERS[self.order[LETTERS.index(x)]] for x in letters)


@dataclass(frozen=True)
class Graded:
    question: Question  # in display order
    chosen: frozenset[str]
    expected: frozenset[str]  # what counted as right: observed outcome, else the docs
    correct: bool
    observation: Observation | None = None
    # set when LocalStack did something the documented answer does not predict
    discrepancy: str | None = None
    notes: list[str] = field(default_factory=list)


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


def parse_answer(text: str, question: Question) -> frozenset[str]:
    """'a', 'a,c', 'A C' or 'ac' -> {'a', 'c'}; a TutorError that says what is allowed."""
    letters = [c for c in re.sub(r"[\s,;]+", "", text.strip().lower())]
    allowed = question.letters
    bad = [c for c in letters if c not in allowed]
    if bad or not letters:
        what = "one letter" if question.picks == 1 else f"{question.picks} letters"
        raise TutorError(f"'{text.strip()}' is not an answer", "Invalid answer",
                         f"type {what} from {allowed[0]} to {allowed[-1]}, e.g. "
                         f"{','.join(allowed[:question.picks])}")
    chosen = frozenset(letters)
    if len(chosen) != question.picks:
        raise TutorError(f"this question needs {question.picks} answer"
                         f"{'s' if question.picks > 1 else ''}, you gave {len(chosen)}",
                         "Invalid answer", f"choose exactly {question.picks}")
    return chosen


def grade(question: Question, chosen: frozenset[str],
          observation: Observation | None = None) -> Graded:
    """All-or-nothing grading; a predict question is graded on what was observed."""
    documented = question.correct_letters
    if observation is None:
        return Graded(question, chosen, documented, chosen == documented)
    observed = frozenset(LETTERS[i] for i, o in enumerate(question.options)
                         if o.outcome == observation.outcome)
    if not observed:
        note = (f"LocalStack produced '{observation.outcome}', which no option describes; "
                "graded against the AWS documentation instead")
        return Graded(question, chosen, documented, chosen == documented, observation,
                      discrepancy=note)
    discrepancy = None
    if observed != documented:
        discrepancy = ("LocalStack behaved differently from what the AWS documentation "
                       "describes; on AWS the documented answer applies")
    return Graded(question, chosen, observed, chosen == observed, observation, discrepancy)


def allocate(count: int, weights: dict[str, float], available: dict[str, int]) -> dict[str, int]:
    """Split `count` over domains by weight (largest remainder), never beyond what exists.

    A domain short of questions gives its share to the others in proportion to their
    weights, so the total is `count` whenever enough questions exist.
    """
    count = min(count, sum(available.get(d, 0) for d in weights))
    result = dict.fromkeys(weights, 0)
    open_domains = [d for d in weights if available.get(d, 0) > 0]
    remaining = count
    for _ in range(len(weights) + 1):  # each pass closes at least one domain or finishes
        if remaining <= 0 or not open_domains:
            break
        total_w = sum(weights[d] for d in open_domains) or 1.0
        quotas = {d: remaining * weights[d] / total_w for d in open_domains}
        share = {d: math.floor(q) for d, q in quotas.items()}
        leftover = remaining - sum(share.values())
        # ties broken by weight, then by the exam guide's order, so results are stable
        ranked = sorted(open_domains, key=lambda d: (-(quotas[d] - share[d]), -weights[d],
                                                     list(weights).index(d)))
        for d in ranked[:leftover]:
            share[d] += 1
        capped = False
        for d in list(open_domains):
            room = available[d] - result[d]
            if share[d] >= room:
                share[d] = room
                open_domains.remove(d)
                capped = True
        for d, n in share.items():
            result[d] += n
        remaining = count - sum(result.values())
        if not capped:
            break
    return result


def draw(questions: list[Question], weights: dict[str, float], count: int,
         rng: random.Random) -> list[Question]:
    """`count` questions drawn to the domain weights, in random order."""
    by_domain: dict[str, list[Question]] = {d: [] for d in weights}
    for q in questions:
        if q.domain in by_domain:
            by_domain[q.domain].append(q)
    plan = allocate(count, weights, {d: len(qs) for d, qs in by_domain.items()})
    picked: list[Question] = []
    for d, n in plan.items():
        picked.extend(rng.sample(by_domain[d], n))
    rng.shuffle(picked)
    return picked
