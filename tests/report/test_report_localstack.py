"""A real lab check against LocalStack, then exported: the JUnit failure is the check's own."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tutor.engine.labs import api
from tutor.engine.report import export
from tutor.engine.report.build import learner_report

from . import helpers

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

FIXTURE_LAB = Path(__file__).resolve().parent.parent / "fixtures" / "labs" / "valid"


@pytest.mark.localstack
def test_real_check_results_export_as_junit(localstack: Endpoint, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    labs = tmp_path / "labs"
    shutil.copytree(FIXTURE_LAB, labs / "99-valid")
    monkeypatch.setenv("TUTOR_LABS_DIR", str(labs))
    store = helpers.use_home(monkeypatch, tmp_path / "home", "ren")
    lab = api.get_lab("99")
    api.start_lab(lab, store=store)
    first = api.run_checks(lab, localstack, store=store)
    failed = first.steps[0]
    assert failed.status == "failed" and first.steps[1].status == "blocked"
    message = next(c.message for c in failed.checks if not c.passed)
    assert message.startswith("Expected ")

    # what a CI tool reads before the fix: the check's own expected/found message
    root = ET.fromstring(export.render(learner_report(store), "junit"))
    suite = root.find("testsuite[@package='labs.99-valid']")
    assert suite is not None and (suite.get("tests"), suite.get("failures"),
                                  suite.get("skipped")) == ("2", "1", "1")
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("message", "").startswith(message)
    assert float(suite.get("time", "0")) > 0

    api.apply_solution(lab, localstack, steps=["make-queue"])
    second = api.run_checks(lab, localstack, store=store)
    report = learner_report(store)
    [entry] = report.labs
    make, measure = entry.steps
    assert make.id == "make-queue" and make.status == "passed" and make.attempts == 2
    assert make.first_attempt_at is not None and make.last_attempt_at is not None
    assert make.first_attempt_at < make.last_attempt_at and make.check_seconds > 0
    assert measure.status == second.steps[1].status and measure.attempts == 1
    root = ET.fromstring(export.render(report, "junit"))
    suite = root.find("testsuite[@package='labs.99-valid']")
    assert suite is not None
    case = suite.find("testcase")
    assert case is not None and list(case) == []  # passed now
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["learner"] == "ren" and props["lab.status"] == entry.status
    assert entry.time.sittings == 1 and entry.time.active_seconds > 0
