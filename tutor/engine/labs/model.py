"""The schema of `lab.yaml` (format 1), validated with pydantic."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

FORMAT_VERSIONS = (1,)

# The exam pointers and domains are the quiz banks' vocabulary (tutor.engine.quiz.taxonomy),
# so a failed check can schedule the matching questions for review.
try:
    from tutor.engine.quiz.taxonomy import DOMAINS as _DOMAINS
    from tutor.engine.quiz.taxonomy import TAGS as _TAGS

    EXAM_TAGS: tuple[str, ...] = tuple(_TAGS)
    EXAM_DOMAINS: tuple[str, ...] = tuple(_DOMAINS)
except ImportError:  # a checkout without the quiz engine: the same words, kept here
    EXAM_TAGS = (
        "visibility-timeout", "long-polling", "short-polling", "dlq", "redrive",
        "lambda-sqs", "batching", "partial-batch-response", "lambda-concurrency",
        "lambda-timeout", "scaling", "cloudwatch-metrics", "auto-scaling", "fifo",
        "deduplication", "message-groups", "sqs-vs-sns-vs-kinesis", "sns-fanout",
        "eventbridge", "s3-notifications", "step-functions", "cloudwatch-alarms", "limits",
        "retention", "delay-queues", "message-timers", "message-attributes",
        "large-messages", "security", "encryption", "queue-policy", "cost", "idempotency",
        "decoupling", "write-buffering", "async-offloading", "fan-in", "fan-out",
        "batch-processing", "retry", "ordering", "throughput", "ec2",
    )
    EXAM_DOMAINS = ("saa-secure", "saa-resilient", "saa-performance", "saa-cost",
                    "dva-development", "dva-security", "dva-deployment",
                    "dva-troubleshooting")
RUNTIMES = ("python", "node")

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_LAB_ID = re.compile(r"^(\d\d)-[a-z0-9][a-z0-9-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClockEntry(_Strict):
    """One compressed timing: the value used here and the one it stands for in production."""

    lab_seconds: float = Field(gt=0)
    production_seconds: float = Field(gt=0)
    note: str = ""


class CheckRef(_Strict):
    """A check of a step: a function of the lab's checks.py, with a weight and parameters."""

    id: str
    check: str  # the name of a function decorated with @check in checks.py
    weight: float = Field(default=1.0, gt=0, le=100)
    title: str = ""
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be lowercase letters, digits and dashes, like `dlq-exists`")
        return value


class SolutionAction(_Strict):
    """What the reference solution of a step does, in order: copy `files`, then `run` scripts."""

    files: list[str] = Field(default_factory=list)  # paths under solution/ into the workspace
    run: list[str] = Field(default_factory=list)  # Python scripts (workspace-relative) to run
    timeout: float = Field(default=60.0, gt=0, le=300)


class Step(_Strict):
    id: str
    title: str
    text: str
    hints: list[str] = Field(min_length=1)
    checks: list[CheckRef] = Field(min_length=1)
    blocker: bool = False  # later steps are not checked until this one passes
    scenarios: list[str] = Field(default_factory=list)  # @scenario functions run first
    exam: list[str] = Field(default_factory=list)  # tags; empty means the lab's tags
    requires: list[str] = Field(default_factory=list)  # runtimes, e.g. [node]
    solution: SolutionAction = Field(default_factory=SolutionAction)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be lowercase letters, digits and dashes, like `create-dlq`")
        return value

    @field_validator("checks")
    @classmethod
    def _unique_checks(cls, checks: list[CheckRef]) -> list[CheckRef]:
        seen: set[str] = set()
        for ref in checks:
            if ref.id in seen:
                raise ValueError(f"check id `{ref.id}` is used twice in this step; "
                                 "give each check its own id")
            seen.add(ref.id)
        return checks

    @property
    def max_score(self) -> float:
        return sum(ref.weight for ref in self.checks)


class Exam(_Strict):
    pointers: list[str] = Field(min_length=1)  # EXAM_TAGS
    domains: list[str] = Field(min_length=1)  # EXAM_DOMAINS ids, e.g. saa-resilient


class LabSpec(_Strict):
    """Exactly what lab.yaml holds."""

    format: int
    id: str
    title: str
    pattern: str
    diagram: str
    goals: list[str] = Field(min_length=1)
    exam: Exam
    minutes: int = Field(gt=0, le=240)
    requires: list[str] = Field(default_factory=lambda: ["python"])
    programs: dict[str, str] = Field(default_factory=dict)  # role -> workspace file
    clock: dict[str, ClockEntry] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)

    @field_validator("format")
    @classmethod
    def _format(cls, value: int) -> int:
        if value not in FORMAT_VERSIONS:
            raise ValueError(f"format {value} is not supported; this tutor reads format "
                             f"{', '.join(map(str, FORMAT_VERSIONS))}")
        return value

    @field_validator("id")
    @classmethod
    def _lab_id(cls, value: str) -> str:
        if not _LAB_ID.match(value):
            raise ValueError("must be the folder name, two digits then a slug, "
                             "like `04-retry-dlq`")
        return value

    @field_validator("steps")
    @classmethod
    def _unique_steps(cls, steps: list[Step]) -> list[Step]:
        seen: set[str] = set()
        for step in steps:
            if step.id in seen:
                raise ValueError(f"step id `{step.id}` is used twice; step ids must be unique")
            seen.add(step.id)
        return steps

    @property
    def number(self) -> str:
        match = _LAB_ID.match(self.id)
        return match.group(1) if match else "00"

    @property
    def prefix(self) -> str:
        """Every cloud resource of this lab starts with it, e.g. `lab04-`."""
        return f"lab{self.number}-"
