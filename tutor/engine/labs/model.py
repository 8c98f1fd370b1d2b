"""The schema of `lab.yaml` (format 1), validated with pydantic."""

from __future__ import annotations

import re
from string import Template
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
RUNTIMES = ("python", "node", "kinesis")  # kinesis: the LocalStack must run Kinesis

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


_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The placeholders a message template may use ($i, $run, $now), checked at load time.
TEMPLATE_FIELDS = {"i": 0, "run": "r0", "now": 0.0}


def _template(value: str) -> str:
    try:
        Template(value).substitute(TEMPLATE_FIELDS)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"bad placeholder {exc}; a template may use $i (the message "
                         "number), $run (a run id) and $now (Unix time)") from exc
    return value


class Gauge(_Strict):
    """A lab-defined figure on the live dashboard, read from the workspace (read-only).

    `sqlite_rows`: the rows of `table` in the SQLite file `path` (per second with `rate`).
    `processes`: how many copies of the workspace script `script` are running.
    """

    label: str = Field(min_length=1, max_length=24)
    kind: Literal["sqlite_rows", "processes"]
    path: str = ""
    table: str = ""
    rate: bool = False
    script: str = ""

    @model_validator(mode="after")
    def _fields_of_kind(self) -> Gauge:
        if self.kind == "sqlite_rows":
            if not self.path or not _TABLE.match(self.table):
                raise ValueError("a `sqlite_rows` gauge needs `path` (the SQLite file in the "
                                 "workspace) and `table` (a plain table name)")
        elif not self.script:
            raise ValueError("a `processes` gauge needs `script` (a workspace program, "
                             "like worker.py)")
        for name in (self.path, self.script):
            if name.startswith("/") or ".." in name.split("/"):
                raise ValueError(f"`{name}` must be a path inside the workspace")
        return self


class Dashboard(_Strict):
    """The live queue dashboard's extras: the lab's own gauges."""

    gauges: list[Gauge] = Field(default_factory=list, max_length=4)


class ChaosAction(_Strict):
    """Something the learner can do to the running system from the lab screen.

    `poison`: send `body` (a template) to the queue `queue`, a message the lab's consumer
    cannot process. `burst`: `count` messages (template `body`) with the burst generator.
    `stop_consumer`: signal one running copy of the workspace program `script`.
    """

    id: str
    kind: Literal["poison", "burst", "stop_consumer"]
    label: str = Field(min_length=1, max_length=40)
    queue: str = ""  # the queue's suffix after the lab prefix, e.g. `orders`
    body: str = ""
    group: str = ""  # FIFO queues: the MessageGroupId (a fresh deduplication id is used)
    count: int = Field(default=100, ge=1, le=3000)
    script: str = ""
    signal: Literal["term", "kill"] = "term"
    note: str = ""  # what to watch for afterwards, shown with the result

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be lowercase letters, digits and dashes, like `poison`")
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _template(value)

    @model_validator(mode="after")
    def _fields_of_kind(self) -> ChaosAction:
        if self.kind in ("poison", "burst") and not self.queue:
            raise ValueError(f"a `{self.kind}` action needs `queue` (the suffix after the "
                             "lab prefix, like `orders`)")
        if self.kind == "poison" and not self.body:
            raise ValueError("a `poison` action needs `body`: the message the consumer "
                             "cannot process")
        if self.kind == "stop_consumer" and not self.script:
            raise ValueError("a `stop_consumer` action needs `script` (the consumer "
                             "program, like worker.py)")
        return self


class FaultSpec(_Strict):
    """A fault the runner injects into the programs a scenario starts (faults.py)."""

    kind: Literal["kill", "commit_fail", "batch_fail", "api_error", "duplicate"]
    id: str = ""
    op: str = ""
    service: str = ""
    when: Literal["before", "after"] = "after"
    nth: list[int] = Field(default_factory=lambda: [1])
    every: bool = False
    nonempty: bool = False
    entries: list[int] = Field(default_factory=list)
    per: str = ""
    match: dict[str, str] = Field(default_factory=dict)
    code: str = "InternalError"
    status: int = Field(default=500, ge=400, le=599)
    message: str = ""
    program: str = ""  # only in this workspace program; empty: every program
    running: bool = False  # also the programs already running when it is added

    @field_validator("nth")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(n < 1 for n in value):
            raise ValueError("occurrences count from 1 (the first call is 1)")
        return value

    @model_validator(mode="after")
    def _fields_of_kind(self) -> FaultSpec:
        if self.kind in ("kill", "api_error", "batch_fail") and not self.op:
            raise ValueError(f"a `{self.kind}` fault needs `op` (an API operation such as "
                             "DeleteMessage, or `commit` for a kill)")
        if self.kind == "batch_fail" and self.op not in ("SendMessageBatch",
                                                         "DeleteMessageBatch"):
            raise ValueError("a `batch_fail` fault applies to SendMessageBatch or "
                             "DeleteMessageBatch")
        if self.kind == "api_error" and not self.service:
            raise ValueError("an `api_error` fault needs `service` (e.g. s3, sqs)")
        return self


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
    dashboard: Dashboard = Field(default_factory=Dashboard)  # optional: the lab's gauges
    chaos: list[ChaosAction] = Field(default_factory=list, max_length=6)
    # Faults injected into the programs each scenario starts: {scenario: [fault, ...]}.
    faults: dict[str, list[FaultSpec]] = Field(default_factory=dict)

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

    @field_validator("chaos")
    @classmethod
    def _unique_chaos(cls, chaos: list[ChaosAction]) -> list[ChaosAction]:
        ids = [action.id for action in chaos]
        twice = {i for i in ids if ids.count(i) > 1}
        if twice:
            raise ValueError(f"chaos id `{sorted(twice)[0]}` is used twice; ids must be unique")
        return chaos

    @model_validator(mode="after")
    def _scripts_are_programs(self) -> LabSpec:
        # A consumer the dashboard counts or stops must be one the lab tells the learner of.
        scripts = [g.script for g in self.dashboard.gauges if g.script]
        scripts += [a.script for a in self.chaos if a.script]
        for script in scripts:
            if script not in self.programs.values():
                raise ValueError(f"`{script}` is not one of the lab's `programs:` "
                                 f"({', '.join(self.programs.values()) or 'none'})")
        return self

    @property
    def number(self) -> str:
        match = _LAB_ID.match(self.id)
        return match.group(1) if match else "00"

    @property
    def prefix(self) -> str:
        """Every cloud resource of this lab starts with it, e.g. `lab04-`."""
        return f"lab{self.number}-"
