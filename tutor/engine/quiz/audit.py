"""Measures of a bank's fairness as an exam: cues a test-wise candidate could exploit, and
whether the banks hold enough questions for full mocks drawn with no repeat."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor.engine.quiz.model import Bank
from tutor.engine.quiz.scoring import allocate
from tutor.engine.quiz.taxonomy import EXAMS, exam_domains

# Words that make a statement absolute. Wrong options that use them far more often than
# right ones teach "pick the hedged option" instead of the service.
ABSOLUTE_WORDS = ("always", "never", "only", "cannot", "can't", "can not")
_ABSOLUTE = re.compile(r"\b(" + "|".join(re.escape(w) for w in ABSOLUTE_WORDS) + r")\b",
                       re.IGNORECASE)
MOCKS = 2  # full mocks per exam the banks must fill with no question repeated


@dataclass(frozen=True)
class AbsoluteCue:
    right: int  # right options that use an absolute word
    right_total: int
    wrong: int
    wrong_total: int

    @property
    def ratio(self) -> float:
        """How much more often a wrong option is absolute than a right one (1.0 = no cue)."""
        right_rate = self.right / self.right_total if self.right_total else 0.0
        wrong_rate = self.wrong / self.wrong_total if self.wrong_total else 0.0
        if right_rate == 0.0:
            return float("inf") if wrong_rate else 1.0
        return wrong_rate / right_rate


def absolute(text: str) -> bool:
    return bool(_ABSOLUTE.search(text))


def absolute_cue(banks: list[Bank]) -> AbsoluteCue:
    """Absolute words in option texts, right options against wrong ones."""
    right = right_total = wrong = wrong_total = 0
    for bank in banks:
        for question in bank.questions:
            for option in question.options:
                if option.correct:
                    right_total += 1
                    right += absolute(option.text)
                else:
                    wrong_total += 1
                    wrong += absolute(option.text)
    return AbsoluteCue(right, right_total, wrong, wrong_total)


def mock_needs(exam_id: str, mocks: int = MOCKS) -> dict[str, int]:
    """Questions each domain of `exam_id` needs for `mocks` full mocks, none repeated."""
    exam = EXAMS[exam_id]
    domains = exam_domains(exam_id)
    weights = {d.id: d.weight for d in domains}
    one = allocate(exam.questions, weights, dict.fromkeys(weights, exam.questions))
    return {d: n * mocks for d, n in one.items()}


def mock_shortfall(banks: list[Bank], exam_id: str,
                   mocks: int = MOCKS) -> dict[str, tuple[int, int]]:
    """Domains short of `mock_needs`: domain -> (needed, held)."""
    held: dict[str, int] = {}
    for bank in banks:
        for question in bank.questions:
            held[question.domain] = held.get(question.domain, 0) + 1
    return {d: (n, held.get(d, 0)) for d, n in mock_needs(exam_id, mocks).items()
            if held.get(d, 0) < n}


@dataclass(frozen=True)
class LongestCue:
    hits: int  # single-answer questions whose right option is the longest (ties count)
    questions: int
    chance: float  # how many a random key would give: sum of 1/options

    @property
    def ratio(self) -> float:
        """How much more often the right option is the longest than chance (1.0 = no cue)."""
        return self.hits / self.chance if self.chance else 1.0


def longest_cue(banks: list[Bank]) -> LongestCue:
    """"Pick the longest option" as a strategy, over single-answer and predict questions."""
    hits = questions = 0
    chance = 0.0
    for bank in banks:
        for question in bank.questions:
            if question.type == "multiple":
                continue
            lengths = [len(o.text) for o in question.options]
            right = next(i for i, o in enumerate(question.options) if o.correct)
            questions += 1
            chance += 1 / len(lengths)
            hits += lengths[right] == max(lengths)
    return LongestCue(hits, questions, chance)
