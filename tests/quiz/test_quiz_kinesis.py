"""Predict-then-observe questions that run on Kinesis: a clear error where LocalStack has no
Kinesis, kinesis-mock's start-up not counted against the time limit, no stream left."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tutor import locations
from tutor.cloud import clients
from tutor.cloud.endpoint import Endpoint
from tutor.cloud.health import Health
from tutor.engine.quiz.bank import read_banks
from tutor.engine.quiz.observe import Run
from tutor.engine.quiz.scenarios import run_scenario
from tutor.errors import TutorError

KINESIS = [q for b in read_banks(locations.quizzes_dir())[0] for q in b.questions
           if q.type == "predict" and q.scenario and q.scenario.name.startswith("kinesis_")]
OFFLINE = Endpoint("http://127.0.0.1:9", "test")


class SlowStart:
    """A Kinesis client whose first call takes as long as kinesis-mock starting."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def list_streams(self, **_: Any) -> dict[str, Any]:
        time.sleep(self.seconds)
        return {"StreamNames": []}


def test_there_are_kinesis_predict_questions() -> None:
    assert len(KINESIS) >= 2


def test_no_kinesis_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tutor.cloud.health.probe", lambda url, timeout=1.0: Health(
        reachable=True, services={"sqs": "running", "kinesis": "disabled"}))
    run = Run(OFFLINE)
    with pytest.raises(TutorError) as caught:
        _ = run.kinesis
    assert "Kinesis" in caught.value.message and "disabled" in caught.value.message
    assert "make install" in caught.value.fix


def test_kinesis_mock_start_is_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tutor.cloud.health.probe", lambda url, timeout=1.0: Health(
        reachable=True, services={"kinesis": "available"}))
    run = Run(OFFLINE)
    monkeypatch.setattr(run, "client", lambda service: SlowStart(1.3))
    _ = run.kinesis
    _ = run.kinesis  # checked once: the second use costs nothing
    assert run.excluded >= 1.3
    assert run.elapsed() < 0.5
    assert any("kinesis-mock" in line for line in run.evidence)


@pytest.mark.localstack
@pytest.mark.parametrize("question", KINESIS, ids=[q.id for q in KINESIS])
def test_kinesis_scenarios_leave_no_stream(localstack: Endpoint, question: Any) -> None:
    observation = run_scenario(question, localstack)
    kinesis = clients.client("kinesis", localstack)
    left = [n for n in kinesis.list_streams(Limit=100).get("StreamNames", [])
            if n.startswith(observation.prefix)]
    for name in left:  # deletion is asynchronous: DELETING is fine, ACTIVE is a leftover
        try:
            status = kinesis.describe_stream_summary(StreamName=name)[
                "StreamDescriptionSummary"]["StreamStatus"]
        except kinesis.exceptions.ResourceNotFoundException:
            continue
        assert status == "DELETING", f"{name} is {status}"
