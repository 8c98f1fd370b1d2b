"""The schema of `lab.yaml` (format 1), validated with pydantic."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FORMAT_VERSIONS = (1,)

# The exam pointers a lab (or one of its steps) teaches. Quiz questions carry the same tags,
# so a failed check can schedule the matching questions for review.
EXAM_TAGS = (
    "decoupling", "write-buffering", "async-offloading", "fan-out", "fan-in",
    "visibility-timeout", "long-polling", "short-polling", "message-retention",
    "delay-queues", "message-size", "dlq", "redrive", "max-receive-count",
    "batching", "delete-message-batch", "partial-failures", "idempotency",
    "at-least-once", "exactly-once", "fifo", "message-groups", "deduplication",
    "throughput", "lambda-sqs", "event-source-mapping", "partial-batch-response",
    "lambda-concurrency", "scaling-queue-depth", "cloudwatch-alarms", "backlog-per-instance",
    "sns", "filter-policy", "raw-delivery", "queue-policy", "eventbridge", "s3-events",
    "step-functions", "task-token", "encryption", "cost",
)
EXAM_DOMAINS = (
    "SAA-C03 Design Resilient Architectures",
    "SAA-C03 Design High-Performing Architectures",
    "SAA-C03 Design Secure Architectures",
    "SAA-C03 Design Cost-Optimized Architectures",
    "DVA-C02 Development with AWS Services",
    "DVA-C02 Security",
    "DVA-C02 Deployment",
    "DVA-C02 Troubleshooting and Optimization",
)
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

    @model_validator(mode="after")
    def _unique_checks(self) -> Step:
        seen: set[str] = set()
        for ref in self.checks:
            if ref.id in seen:
                raise ValueError(f"check id `{ref.id}` is used twice in this step; "
                                 "give each check its own id")
            seen.add(ref.id)
        return self

    @property
    def max_score(self) -> float:
        return sum(ref.weight for ref in self.checks)


class Exam(_Strict):
    pointers: list[str] = Field(min_length=1)  # EXAM_TAGS
    domains: list[str] = Field(min_length=1)  # EXAM_DOMAINS


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

    @model_validator(mode="after")
    def _unique_steps(self) -> LabSpec:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id `{step.id}` is used twice; step ids must be unique")
            seen.add(step.id)
        return self

    @property
    def number(self) -> str:
        match = _LAB_ID.match(self.id)
        return match.group(1) if match else "00"

    @property
    def prefix(self) -> str:
        """Every cloud resource of this lab starts with it, e.g. `lab04-`."""
        return f"lab{self.number}-"
