"""The report as JUnit XML: a testsuite per lab (a testcase per step) and for the quiz.

Follows the Ant/Jenkins JUnit schema that CI tools read (GitHub Actions test reporters,
GitLab, Jenkins): <testsuites> > <testsuite> with name, tests, failures, errors,
skipped, time, timestamp, hostname, id and package; <properties> first, then
<testcase name classname time> with at most one <failure message type> or
<skipped message>, then <system-out> and <system-err>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from tutor.engine.quiz.taxonomy import DOMAINS
from tutor.engine.report.model import LabEntry, LearnerReport, QuizEntry

PASS_PERCENT = 72.0  # a quiz domain "passes" at the exams' pass mark, 720 of 1000
# XML 1.0 cannot hold most control characters (a learner program's output may).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: object) -> str:
    return _NOT_XML.sub("?", str(value))


def _time(seconds: float) -> str:
    return f"{max(0.0, seconds):.3f}"


def _stamp(moment: datetime) -> str:
    # The schema's timestamp has no zone: UTC, said in the suite's properties.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class _Suite:
    def __init__(self, parent: ET.Element, index: int, name: str, package: str,
                 report: LearnerReport, properties: dict[str, str]) -> None:
        self.element = ET.SubElement(parent, "testsuite", {
            "name": _text(name), "id": str(index), "package": _text(package),
            "hostname": "sqs-tutor", "timestamp": _stamp(report.generated_at)})
        props = ET.SubElement(self.element, "properties")
        common = {"learner": report.learner or "", "tutor_version": report.tutor_version,
                  "content_version": report.content_version, "timezone": "UTC"}
        for key, value in (common | properties).items():
            if value:  # the Ant schema wants a non-empty value
                ET.SubElement(props, "property", {"name": key, "value": _text(value)})
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        self.seconds = 0.0

    def case(self, name: str, classname: str, seconds: float = 0.0, *,
             failure: tuple[str, str] | None = None, skipped: str | None = None) -> None:
        case = ET.SubElement(self.element, "testcase", {
            "name": _text(name), "classname": _text(classname), "time": _time(seconds)})
        self.counts["tests"] += 1
        self.seconds += seconds
        if failure is not None:
            message, body = failure
            node = ET.SubElement(case, "failure", {"message": _text(message),
                                                   "type": "AssertionError"})
            node.text = _text(body)
            self.counts["failures"] += 1
        elif skipped is not None:
            ET.SubElement(case, "skipped", {"message": _text(skipped)})
            self.counts["skipped"] += 1

    def close(self, out: str = "") -> None:
        ET.SubElement(self.element, "system-out").text = _text(out)
        ET.SubElement(self.element, "system-err").text = ""
        for key, value in self.counts.items():
            self.element.set(key, str(value))
        self.element.set("time", _time(self.seconds))


def _lab_suite(root: ET.Element, index: int, lab: LabEntry, report: LearnerReport) -> _Suite:
    package = f"labs.{lab.id}"
    suite = _Suite(root, index, f"lab {lab.id}: {lab.title}", package, report, {
        "lab.status": lab.status, "lab.score": f"{lab.score:g}/{lab.max_score:g}",
        "lab.active_seconds": f"{lab.time.active_seconds:g}",
        "lab.solution_shown": str(lab.solution_shown).lower()})
    for number, step in enumerate(lab.steps, 1):
        name = f"{number:02d} {step.id}: {step.title}"
        score = f"score {step.score:g}/{step.max_score:g}, {step.attempts} attempt(s)"
        if step.status == "not_attempted":
            suite.case(name, package, skipped="not attempted")
        elif step.status == "skipped":
            suite.case(name, package, step.check_seconds,
                       skipped=step.note or "skipped on this machine")
        elif step.status == "failed":
            failing = [c for c in step.checks if not c.passed]
            first = failing[0].message if failing else (step.note or "the step failed")
            lines = [f"[{'PASS' if c.passed else 'FAIL'}] {c.title}: {c.message} "
                     f"({c.score:g}/{c.weight:g})" for c in step.checks]
            body = "\n".join([score, *([step.note] if step.note else []), *lines])
            suite.case(name, package, step.check_seconds, failure=(f"{first} ({score})", body))
        else:
            suite.case(name, package, step.check_seconds)
    suite.close(f"{lab.steps_passed}/{len(lab.steps)} steps passed, score "
                f"{lab.score:g}/{lab.max_score:g}")
    return suite


def _quiz_suites(root: ET.Element, index: int, quiz: QuizEntry,
                 report: LearnerReport) -> list[_Suite]:
    suite = _Suite(root, index, "quiz domains (practice and review answers)", "quiz.domains",
                   report, {"quiz.pass_percent": f"{PASS_PERCENT:g}",
                            "quiz.answered": str(quiz.answered),
                            "quiz.due_cards": str(quiz.due_cards)})
    tallies = {t.id: t for t in quiz.by_domain}
    for domain in DOMAINS.values():
        name = f"{domain.exam} {domain.name}"
        tally = tallies.get(domain.id)
        if tally is None or tally.total == 0:
            suite.case(name, f"quiz.domains.{domain.id}", skipped="no answers yet")
        elif tally.percent < PASS_PERCENT:
            message = (f"{tally.correct}/{tally.total} correct ({tally.percent:g}%), "
                       f"below {PASS_PERCENT:g}%")
            suite.case(name, f"quiz.domains.{domain.id}", failure=(message, message))
        else:
            suite.case(name, f"quiz.domains.{domain.id}")
    suite.close(f"{quiz.correct}/{quiz.answered} practice answers correct")
    suites = [suite]
    if quiz.exams:
        exams = _Suite(root, index + 1, "quiz exams", "quiz.exams", report, {})
        for exam in quiz.exams:
            name = f"{exam.exam} {exam.started_at.astimezone(UTC):%Y-%m-%d %H:%M} {exam.id[:8]}"
            if exam.finished_at is None:
                exams.case(name, "quiz.exams", skipped="not submitted")
            elif exam.passed:
                exams.case(name, "quiz.exams", exam.seconds or 0.0)
            else:
                message = f"scaled score {exam.scaled_score} below the pass mark 720"
                detail = "\n".join(f"{d.name}: {d.correct}/{d.total}" for d in exam.domains)
                exams.case(name, "quiz.exams", exam.seconds or 0.0,
                           failure=(message, f"{message}\n{detail}"))
        exams.close()
        suites.append(exams)
    return suites


def to_junit(report: LearnerReport) -> str:
    """The report as a JUnit XML document (UTF-8 text with its declaration)."""
    root = ET.Element("testsuites", {"name": _text(f"sqs-tutor {report.learner or ''}".strip())})
    suites = [_lab_suite(root, i, lab, report) for i, lab in enumerate(report.labs)]
    suites += _quiz_suites(root, len(suites), report.quiz, report)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(s.counts[key] for s in suites)))
    root.set("time", _time(sum(s.seconds for s in suites)))
    root.set("timestamp", _stamp(report.generated_at))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
