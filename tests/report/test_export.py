"""`tutor report`: a real progress store, exported as JSON, JUnit XML and CSV, read back."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest

from tutor import __version__
from tutor.engine.labs import api
from tutor.engine.quiz.taxonomy import DOMAINS
from tutor.engine.report import export
from tutor.engine.report.build import learner_report
from tutor.engine.report.model import FORMAT_VERSION, LearnerReport

from . import helpers


def _ada(monkeypatch: pytest.MonkeyPatch, home: Path) -> LearnerReport:
    store = helpers.use_home(monkeypatch, home, "ada")
    lab = helpers.lab()
    api.start_lab(lab, store=store)
    helpers.check(lab, store, "create-dlq", [1, 0.5, 0, 1])  # partial credit: 2/5
    helpers.check(lab, store, "create-dlq", [1, 1, 1, 1])
    helpers.check(lab, store, "visibility", [1, 0])
    api.next_hint(lab, "visibility", store)
    api.next_hint(lab, "visibility", store)
    helpers.practice(store, "dlq-redrive", right=3, wrong=1)
    helpers.exam(store, right=True)
    return learner_report(store)


def test_report_model_holds_steps_attempts_scores_and_quiz(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    report = _ada(monkeypatch, tmp_path / "ada")
    assert report.learner == "ada" and report.tutor_version == __version__
    assert report.format_version == FORMAT_VERSION
    assert report.content_version.startswith("sha256:") and len(report.content_version) == 23
    retry = report.lab(helpers.RETRY_LAB)
    assert retry.status == "in_progress" and retry.started_at is not None
    steps = {s.id: s for s in retry.steps}
    dlq, vis = steps["create-dlq"], steps["visibility"]
    assert (dlq.status, dlq.attempts, dlq.score, dlq.best_score, dlq.max_score) == \
        ("passed", 2, 5.0, 5.0, 5.0)
    assert dlq.first_attempt_at is not None and dlq.last_attempt_at is not None
    assert dlq.first_attempt_at <= dlq.last_attempt_at
    assert (vis.status, vis.attempts, vis.score, vis.max_score, vis.hints_shown) == \
        ("failed", 1, 1.0, 3.0, 2)
    failing = [c for c in vis.checks if not c.passed]
    assert [c.id for c in failing] == ["no-duplicates"]
    assert failing[0].message == "Expected no-duplicates to be right, found it is wrong."
    assert steps["poison"].status == "not_attempted" and steps["poison"].attempts == 0
    assert (retry.score, retry.max_score, retry.steps_passed) == (6.0, 15.0, 1)
    assert retry.time.sittings == 1 and retry.time.active_seconds >= 0
    assert retry.time.first_activity_at == retry.started_at
    assert vis.pointers == ["visibility-timeout", "idempotency"]
    # other labs are listed, untouched
    assert report.lab("01-decoupling-tiers").status == "not_started"

    quiz = report.quiz
    assert (quiz.answered, quiz.correct, quiz.practice_seconds) == (4, 3, 120.0)
    assert sum(t.total for t in quiz.by_domain) == 4
    assert [b.id for b in quiz.by_bank] == ["dlq-redrive"]
    assert sum(t.correct for t in quiz.by_domain) == 3
    assert quiz.by_pointer and all(t.total >= 1 for t in quiz.by_pointer)
    assert quiz.cards >= 4  # practice cards, exam cards and the failed step's pointers
    [exam] = quiz.exams
    assert exam.exam == "saa-c03" and exam.passed and exam.scaled_score == 1000
    assert (exam.correct, exam.total) == (8, 8)
    assert {d.id for d in exam.domains} <= set(DOMAINS)
    assert sum(d.total for d in exam.domains) == 8


def test_three_formats_parse_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    report = _ada(monkeypatch, tmp_path / "ada")
    out = tmp_path / "out"
    paths = export.write(report, ["json", "junit", "csv"], out)
    assert [p.name for p in paths] == ["tutor-report-ada.json", "tutor-report-ada.junit.xml",
                                       "tutor-report-ada.csv"]

    data = json.loads(paths[0].read_text())
    assert data["format"] == "sqs-tutor-report" and data["format_version"] == 1
    assert data["learner"] == "ada" and data["content_version"] == report.content_version
    assert LearnerReport.model_validate(data) == report
    retry_json = next(lab for lab in data["labs"] if lab["id"] == "04-retry-dlq")
    assert retry_json["percent"] == 40.0 and retry_json["time"]["idle_gap_seconds"] == 1800
    assert data["quiz"]["by_bank"] == [{"id": "dlq-redrive", "name": report.quiz.by_bank[0].name,
                                        "correct": 3, "total": 4, "percent": 75.0}]

    root = ET.parse(paths[1]).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == len(report.labs) + 2  # the labs, quiz domains, quiz exams
    for suite in suites:
        children = [c.tag for c in suite]
        assert children[0] == "properties" and children[-2:] == ["system-out", "system-err"]
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases) > 0
        assert int(suite.get("failures", "-1")) == sum(c.find("failure") is not None
                                                       for c in cases)
        assert int(suite.get("skipped", "-1")) == sum(c.find("skipped") is not None
                                                      for c in cases)
        for attr in ("name", "errors", "time", "timestamp", "hostname", "id", "package"):
            assert suite.get(attr) is not None, attr
        for case in cases:
            assert case.get("name") and case.get("classname") and case.get("time")
            assert len([c for c in case if c.tag in ("failure", "skipped", "error")]) <= 1
    assert int(root.get("tests", "0")) == sum(int(s.get("tests", "0")) for s in suites)
    retry = next(s for s in suites if s.get("package") == "labs.04-retry-dlq")
    props = {p.get("name"): p.get("value") for p in retry.iter("property")}
    assert props["learner"] == "ada" and props["lab.score"] == "6/15"
    assert props["content_version"] == report.content_version
    cases = {c.get("name", "").split(":")[0]: c for c in retry.findall("testcase")}
    assert set(cases) == {"01 create-dlq", "02 visibility", "03 poison", "04 fix-and-redrive"}
    assert list(cases["01 create-dlq"]) == []  # passed
    failure = cases["02 visibility"].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("Expected no-duplicates to be right, found "
                                                  "it is wrong. (score 1/3, 1 attempt(s))")
    assert "\n[PASS] The visibility timeout is" in (failure.text or "")
    skipped = cases["03 poison"].find("skipped")
    assert skipped is not None and skipped.get("message") == "not attempted"
    quiz = next(s for s in suites if s.get("package") == "quiz.domains")
    assert len(quiz.findall("testcase")) == len(DOMAINS)
    exams = next(s for s in suites if s.get("package") == "quiz.exams")
    assert exams.get("failures") == "0" and exams.get("tests") == "1"

    rows = list(csv.DictReader(paths[2].read_text().splitlines()))
    assert {r["learner"] for r in rows} == {"ada"}
    assert {r["content_version"] for r in rows} == {report.content_version}
    assert {r["tutor_version"] for r in rows} == {__version__}
    steps = [r for r in rows if r["kind"] == "lab_step"]
    assert len(steps) == sum(len(lab.steps) for lab in report.labs)
    dlq = next(r for r in steps if (r["group"], r["item"]) == ("04-retry-dlq", "create-dlq"))
    assert (dlq["status"], dlq["score"], dlq["max_score"], dlq["attempts"]) == \
        ("passed", "5", "5", "2")
    domains = [r for r in rows if r["kind"] == "quiz_domain"]
    assert sum(int(r["total"]) for r in domains) == 4
    assert sum(int(r["correct"]) for r in domains) == 3
    [exam_row] = [r for r in rows if r["kind"] == "exam"]
    assert (exam_row["status"], exam_row["score"]) == ("passed", "1000")


def test_unattempted_learner_exports_cleanly(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    store = helpers.use_home(monkeypatch, tmp_path / "new", None)
    report = learner_report(store)
    assert report.learner is None
    assert all(lab.status == "not_started" for lab in report.labs)
    root = ET.fromstring(export.render(report, "junit"))
    assert root.get("failures") == "0" and root.get("tests") == root.get("skipped")
    assert export.stem(report) == "tutor-report"
    assert all(p.get("value") for p in root.iter("property"))
    assert "learner" not in {p.get("name") for p in root.iter("property")}


def test_hostile_text_stays_data_in_every_format(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """A check message with control characters and markup; a formula-like learner id."""
    report = _ada(monkeypatch, tmp_path / "ada")
    retry = report.lab(helpers.RETRY_LAB)
    vis = retry.steps[1]
    bad = vis.checks[1].model_copy(update={"message": "Expected <x> & \x1b[31m\x00 found ]]>"})
    vis = vis.model_copy(update={"checks": [vis.checks[0], bad]})
    retry = retry.model_copy(update={"steps": [retry.steps[0], vis, *retry.steps[2:]]})
    hostile = report.model_copy(update={"learner": "=HYPERLINK(\"http://x\")",
                                        "labs": [retry]})
    root = ET.fromstring(export.render(hostile, "junit"))
    failure = root.find(".//failure")
    assert failure is not None and "Expected <x> & ?[31m? found ]]>" in failure.get("message", "")
    rows = list(csv.DictReader(export.render(hostile, "csv").splitlines()))
    assert rows[0]["learner"] == "'=HYPERLINK(\"http://x\")"
    assert LearnerReport.model_validate_json(hostile.to_json()) == hostile


def test_interrupted_exam_is_reported_as_not_submitted(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    from tutor.engine.quiz.sessions import ExamSession

    store = helpers.use_home(monkeypatch, tmp_path / "bo", "bo")
    ExamSession.start(helpers.banks(), store, exam="dva-c02", count=4, seed=2)
    report = learner_report(store)
    [exam] = report.quiz.exams
    assert exam.finished_at is None and exam.scaled_score is None and exam.passed is None
    root = ET.fromstring(export.render(report, "junit"))
    suite = next(s for s in root.findall("testsuite") if s.get("package") == "quiz.exams")
    assert suite.find("testcase/skipped") is not None
    assert report.generated_at - exam.started_at < timedelta(minutes=1)
