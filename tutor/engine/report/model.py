"""The learner's results as one versioned document (the canonical `tutor report` JSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

FORMAT: Literal["sqs-tutor-report"] = "sqs-tutor-report"
FORMAT_VERSION = 1

StepStatus = Literal["passed", "failed", "skipped", "not_attempted"]
LabStatus = Literal["not_started", "in_progress", "completed"]


class _Model(BaseModel):
    # Extra fields are kept out: a class report must not trust what it cannot read.
    model_config = ConfigDict(extra="ignore", frozen=True)


class CheckEntry(_Model):
    """One check of a step's latest attempt."""

    id: str
    title: str
    passed: bool
    score: float
    weight: float
    message: str = ""
    expected: str = ""
    found: str = ""


class StepEntry(_Model):
    id: str
    title: str
    pointers: list[str] = Field(default_factory=list)  # exam pointers (quiz tags)
    status: StepStatus
    score: float = 0.0  # of the latest attempt (what the learner's code does now)
    best_score: float = 0.0
    max_score: float
    attempts: int = 0
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    hints_shown: int = 0
    hints: int = 0
    note: str = ""  # why the latest attempt was skipped or could not check
    check_seconds: float = 0.0  # how long the latest attempt's checks ran
    checks: list[CheckEntry] = Field(default_factory=list)

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0


class TimeSpent(_Model):
    """Time on a lab, from the store's timestamps (see tutor.engine.report.timing)."""

    first_activity_at: datetime | None = None
    last_activity_at: datetime | None = None
    active_seconds: float = 0.0  # gaps between events up to `idle_gap_seconds`, summed
    sittings: int = 0  # runs of events with no gap above `idle_gap_seconds`
    idle_gap_seconds: float


class LabEntry(_Model):
    id: str
    title: str
    status: LabStatus
    score: float
    max_score: float
    steps_passed: int
    started_at: datetime | None = None  # the latest start or reset
    completed_at: datetime | None = None
    solution_shown: bool = False
    estimated_minutes: int = 0  # the lab author's estimate (lab.yaml `minutes`)
    time: TimeSpent
    steps: list[StepEntry]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def percent(self) -> float:
        return round(100 * self.score / self.max_score, 1) if self.max_score else 0.0


class Tally(_Model):
    """Correct answers out of all answers, for a domain, an exam pointer or a bank."""

    id: str
    name: str = ""
    correct: int
    total: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def percent(self) -> float:
        return round(100 * self.correct / self.total, 1) if self.total else 0.0


class ExamEntry(_Model):
    id: str
    exam: str  # "saa-c03"
    started_at: datetime
    finished_at: datetime | None = None  # None: interrupted, never submitted
    seconds: float | None = None
    scaled_score: int | None = None
    passed: bool | None = None
    correct: int | None = None
    total: int | None = None
    domains: list[Tally] = Field(default_factory=list)


class QuizEntry(_Model):
    answered: int  # practice and review answers (exam answers are in `exams`)
    correct: int
    by_domain: list[Tally]
    by_pointer: list[Tally]
    by_bank: list[Tally]
    exams: list[ExamEntry]
    cards: int  # review cards of questions still in the banks
    due_cards: int  # of those, due at `generated_at`
    practice_seconds: float  # sum of per-answer times, each capped at the idle gap
    exam_seconds: float  # sum of submitted exams' durations
    unknown_answers: int = 0  # answers to questions no longer in the banks


class ProblemEntry(_Model):
    """A problem the learner reported with a question or a check (`tutor problem`)."""

    kind: Literal["question", "check"]
    item: str  # a question id, or lab/step[/check]
    note: str
    content_version: str  # the content the learner had when reporting
    at: datetime


class LearnerReport(_Model):
    format: Literal["sqs-tutor-report"] = FORMAT
    format_version: int = FORMAT_VERSION
    tutor_version: str
    content_version: str
    generated_at: datetime
    learner: str | None
    labs: list[LabEntry]
    quiz: QuizEntry
    warnings: list[str] = Field(default_factory=list)
    problems: list[ProblemEntry] = Field(default_factory=list)
    # The store's records (tutor.engine.progress_sync), for `tutor import` on another
    # machine; a class report does not read them.
    records: dict[str, Any] | None = None

    @field_validator("generated_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        # Exports are compared by this time; a hand-written one without a zone is UTC.
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def lab(self, lab_id: str) -> LabEntry:
        for lab in self.labs:
            if lab.id == lab_id:
                return lab
        raise KeyError(lab_id)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"
