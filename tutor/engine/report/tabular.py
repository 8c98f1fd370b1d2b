"""The report as CSV for spreadsheets: one row per lab step, quiz domain, pointer and exam."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from tutor.engine.report.model import LearnerReport

COLUMNS = ("learner", "tutor_version", "content_version", "generated_at", "kind", "group",
           "item", "title", "status", "score", "max_score", "attempts", "correct", "total",
           "percent", "first_at", "last_at", "active_seconds")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    # A spreadsheet runs a cell that starts like a formula (CSV injection): quote it.
    return "'" + text if text.startswith(_FORMULA) else text


def rows(report: LearnerReport) -> list[dict[str, Any]]:
    common = {"learner": report.learner, "tutor_version": report.tutor_version,
              "content_version": report.content_version, "generated_at": report.generated_at}
    out: list[dict[str, Any]] = []
    for lab in report.labs:
        for step in lab.steps:
            out.append(common | {
                "kind": "lab_step", "group": lab.id, "item": step.id, "title": step.title,
                "status": step.status, "score": step.score, "max_score": step.max_score,
                "attempts": step.attempts, "first_at": step.first_attempt_at,
                "last_at": step.last_attempt_at})
        out.append(common | {
            "kind": "lab", "group": lab.id, "item": lab.id, "title": lab.title,
            "status": lab.status, "score": lab.score, "max_score": lab.max_score,
            "attempts": sum(s.attempts for s in lab.steps), "correct": lab.steps_passed,
            "total": len(lab.steps), "percent": lab.percent,
            "first_at": lab.time.first_activity_at, "last_at": lab.time.last_activity_at,
            "active_seconds": lab.time.active_seconds})
    for kind, tallies in (("quiz_domain", report.quiz.by_domain),
                          ("quiz_pointer", report.quiz.by_pointer)):
        for tally in tallies:
            out.append(common | {"kind": kind, "group": "quiz", "item": tally.id,
                                 "title": tally.name, "correct": tally.correct,
                                 "total": tally.total, "percent": tally.percent})
    for exam in report.quiz.exams:
        status = ("unfinished" if exam.finished_at is None
                  else "passed" if exam.passed else "failed")
        out.append(common | {"kind": "exam", "group": exam.exam, "item": exam.id,
                             "status": status, "score": exam.scaled_score, "max_score": 1000,
                             "correct": exam.correct, "total": exam.total,
                             "first_at": exam.started_at, "last_at": exam.finished_at,
                             "active_seconds": exam.seconds})
    return out


def to_csv(report: LearnerReport) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows(report):
        writer.writerow({k: _cell(row.get(k)) for k in COLUMNS})
    return buffer.getvalue()
