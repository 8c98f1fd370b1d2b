"""Quiz test helpers: a fixed clock and synthetic questions and banks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tutor.engine.quiz.model import Bank, Question

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "quiz"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FixedClock:
    """A clock that only moves when a test says so."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def make_question(qid: str, domain: str = "saa-resilient", *, kind: str = "single",
                  tags: list[str] | None = None, difficulty: int = 2) -> Question:
    options: list[dict[str, Any]] = [
        {"text": f"{qid} right", "correct": True, "why": "right"},
        {"text": f"{qid} wrong 1", "correct": kind == "multiple", "why": "wrong"},
        {"text": f"{qid} wrong 2", "correct": False, "why": "wrong"},
        {"text": f"{qid} wrong 3", "correct": False, "why": "wrong"},
    ]
    if kind == "multiple":
        options[1]["text"] = f"{qid} right 2"
    return Question.model_validate({
        "id": qid, "type": kind, "prompt": f"Question {qid}?", "options": options,
        "choose": 2 if kind == "multiple" else None, "tags": tags or ["dlq"],
        "domain": domain, "difficulty": difficulty, "docs": "Amazon SQS Developer Guide"})


def make_bank(questions: list[Question], bank_id: str = "synthetic") -> Bank:
    return Bank.model_validate({"format": 1, "id": bank_id, "title": "Synthetic",
                                "description": "Made by a test.", "questions": questions})


def right_letters(shown: Any) -> str:
    """The display letters of the right options of a presented question."""
    return ",".join(sorted(shown.question.correct_letters))


def wrong_letters(shown: Any) -> str:
    q = shown.question
    wrong = [x for x in q.letters if x not in q.correct_letters]
    return ",".join(wrong[: q.picks])
