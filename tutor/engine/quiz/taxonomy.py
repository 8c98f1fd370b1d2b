"""The fixed vocabulary of the question banks: exam domains, patterns and tags."""

from __future__ import annotations

from dataclasses import dataclass

from tutor.engine.suggest import did_you_mean


@dataclass(frozen=True)
class Domain:
    id: str
    exam: str  # "SAA-C03" or "DVA-C02"
    name: str  # the domain title as the exam guide prints it
    weight: float  # share of the scored questions (the exam guide's percentage / 100)


@dataclass(frozen=True)
class Exam:
    id: str  # as the CLI spells it: "saa-c03"
    code: str  # as AWS spells it: "SAA-C03"
    name: str
    questions: int  # questions on the real exam
    minutes: int  # time allowed on the real exam


DOMAINS: dict[str, Domain] = {d.id: d for d in (
    Domain("saa-secure", "SAA-C03", "Design Secure Architectures", 0.30),
    Domain("saa-resilient", "SAA-C03", "Design Resilient Architectures", 0.26),
    Domain("saa-performance", "SAA-C03", "Design High-Performing Architectures", 0.24),
    Domain("saa-cost", "SAA-C03", "Design Cost-Optimized Architectures", 0.20),
    Domain("dva-development", "DVA-C02", "Development with AWS Services", 0.32),
    Domain("dva-security", "DVA-C02", "Security", 0.26),
    Domain("dva-deployment", "DVA-C02", "Deployment", 0.24),
    Domain("dva-troubleshooting", "DVA-C02", "Troubleshooting and Optimization", 0.18),
)}

EXAMS: dict[str, Exam] = {e.id: e for e in (
    Exam("saa-c03", "SAA-C03", "AWS Certified Solutions Architect - Associate", 65, 130),
    Exam("dva-c02", "DVA-C02", "AWS Certified Developer - Associate", 65, 130),
)}

PATTERNS: tuple[str, ...] = (
    "write-buffering", "decoupling", "async-offloading", "queue-depth-scaling",
    "fan-in-fan-out", "retry-dlq", "batch-processing",
)

TAGS: tuple[str, ...] = (
    "visibility-timeout", "long-polling", "short-polling", "dlq", "redrive", "lambda-sqs",
    "batching", "partial-batch-response", "lambda-concurrency", "lambda-timeout", "scaling",
    "cloudwatch-metrics", "auto-scaling", "fifo", "deduplication", "message-groups",
    "sqs-vs-sns-vs-kinesis", "sns-fanout", "eventbridge", "s3-notifications",
    "step-functions", "cloudwatch-alarms", "limits", "retention", "delay-queues",
    "message-timers", "message-attributes", "large-messages", "security", "encryption",
    "queue-policy", "cost", "idempotency", "decoupling", "write-buffering",
    "async-offloading", "fan-in", "fan-out", "batch-processing", "retry", "ordering",
    "throughput", "ec2",
)


def exam_domains(exam_id: str) -> list[Domain]:
    """The domains of one exam, in the exam guide's order."""
    code = EXAMS[exam_id].code
    return [d for d in DOMAINS.values() if d.exam == code]


def suggest(word: str, known: tuple[str, ...] | list[str]) -> str:
    """' — did you mean X?' for a near miss, else '' (to append to a message)."""
    hint = did_you_mean(word, known, n=2, quote="'")
    return f" — {hint}" if hint else ""
