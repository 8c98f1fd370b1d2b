"""The live dashboard's sampler, the lab gauges and the chaos actions, against LocalStack."""

from __future__ import annotations

import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from tutor.cloud.clients import client
from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs import api, chaos
from tutor.engine.labs.dashboard import DashboardSampler, running_programs
from tutor.engine.labs.model import ChaosAction, LabSpec
from tutor.engine.labs.scenario import ScenarioRunner
from tutor.errors import TutorError


def _delete(endpoint: Endpoint, names: list[str]) -> None:
    sqs = client("sqs", endpoint)
    for name in names:
        try:
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except Exception:  # already gone
            pass


@pytest.fixture
def queues(localstack: Endpoint) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    _delete(localstack, made)


def _make(endpoint: Endpoint, made: list[str], name: str, **attributes: str) -> str:
    url = str(client("sqs", endpoint).create_queue(QueueName=name,
                                                   Attributes=attributes)["QueueUrl"])
    made.append(name)
    return url


def _arn(endpoint: Endpoint, url: str) -> str:
    return str(client("sqs", endpoint).get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


@pytest.mark.localstack
def test_sampler_reads_depths_of_the_lab_queues_and_its_dlq(localstack: Endpoint,
                                                            queues: list[str]) -> None:
    lab = api.get_lab("04")
    sqs = client("sqs", localstack)
    dlq = _make(localstack, queues, "lab04-dash-dlq")
    source = _make(localstack, queues, "lab04-dash", VisibilityTimeout="30",
                   RedrivePolicy=json.dumps({"deadLetterTargetArn": _arn(localstack, dlq),
                                             "maxReceiveCount": 3}))
    _make(localstack, queues, "lab05-dash-other")  # another lab's queue: never shown
    sampler = DashboardSampler(lab, localstack)
    first = sampler.sample()
    assert first.error == ""
    for i in range(5):
        sqs.send_message(QueueUrl=source, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=source, MessageBody="later", DelaySeconds=60)
    got = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=2)["Messages"]
    assert len(got) == 2
    frame = sampler.sample()
    by_name = {q.name: q for q in frame.queues}
    assert "lab05-dash-other" not in by_name
    mine = by_name["lab04-dash"]
    assert (mine.visible, mine.in_flight, mine.delayed) == (3, 2, 1)
    assert mine.history["visible"] == (0.0, 3.0)  # oldest first, one point per sample
    assert mine.history["in_flight"] == (0.0, 2.0)
    assert not mine.dlq and by_name["lab04-dash-dlq"].dlq
    assert frame.cost_ms > 0
    if frame.trace:  # no trace in this LocalStack: n/a with the reason, no figure
        assert frame.trace.startswith("n/a: ") and mine.rates is None
    else:  # the trace saw 6 sends and 2 receives in the last 5 s
        assert mine.rates is not None and mine.rates["sent"] == pytest.approx(6 / 5)
        assert mine.rates["received"] == pytest.approx(2 / 5)
        assert mine.oldest_age is not None and 0 <= mine.oldest_age < 30


@pytest.mark.localstack
def test_sampler_keeps_the_last_figures_when_localstack_is_gone(localstack: Endpoint,
                                                                 queues: list[str]) -> None:
    lab = api.get_lab("04")
    url = _make(localstack, queues, "lab04-dash-gone")
    client("sqs", localstack).send_message(QueueUrl=url, MessageBody="x")
    sampler = DashboardSampler(lab, localstack)
    seen = sampler.sample()
    sampler.endpoint = Endpoint("http://127.0.0.1:9", "test")  # nothing listens on port 9
    frame = sampler.sample()
    assert "not reachable" in frame.error
    assert frame.queues == seen.queues  # the last figures stay on screen


@pytest.fixture
def lab02_workspace(tutor_home: Path) -> Path:
    return api.start_lab(api.get_lab("02"))


def _starter_db(workspace: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("lab02_db", workspace / "db.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lab02_gauge_counts_real_rows_per_second(lab02_workspace: Path) -> None:
    lab = api.get_lab("02")
    sampler = DashboardSampler(lab, Endpoint("http://127.0.0.1:9", "test"))
    gauge = sampler.sample().gauges[0]
    assert gauge.label == "DB rows/s" and gauge.value is None
    assert "no logins.db yet" in gauge.text
    db = _starter_db(lab02_workspace)
    conn = db.connect()  # the lab's own schema, in the workspace
    rows = [(f"e{i}", "u", "10.0.0.1", 0.0) for i in range(300)]
    conn.executemany(db.INSERT, rows[:100])
    conn.commit()
    assert "100 rows" in sampler.sample().gauges[0].text  # the first count: no rate yet
    began = time.monotonic()
    conn.executemany(db.INSERT, rows[100:])
    conn.commit()
    time.sleep(0.5)
    gauge = sampler.sample().gauges[0]
    elapsed = time.monotonic() - began
    assert gauge.value is not None
    assert 200 / (elapsed + 0.5) < gauge.value <= 200 / 0.5  # 200 new rows over ~0.5 s
    assert "300 rows" in gauge.text and gauge.history == (gauge.value,)
    conn.close()


def test_lab02_burst_bodies_are_login_events_the_writer_accepts(lab02_workspace: Path) -> None:
    lab = api.get_lab("02")
    make = chaos.body_maker(chaos.action(lab, "login-burst").body)
    db = _starter_db(lab02_workspace)
    event_id, user, _ip, at = db.row(make(7))
    assert event_id.endswith("-7") and user == "u7" and at > 0
    assert db.row(make(8))[0] != event_id


@pytest.fixture
def consumers(tmp_path: Path) -> Iterator[tuple[Path, list[subprocess.Popen[bytes]]]]:
    """Two real copies of a consumer program, started the two ways a learner or the
    scaler does: `python worker.py` in the workspace, and `python /abs/worker.py`."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "worker.py").write_text("import time\ntime.sleep(60)\n")
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "worker.py").write_text("import time\ntime.sleep(60)\n")
    procs = [subprocess.Popen([sys.executable, "worker.py"], cwd=workspace),
             subprocess.Popen([sys.executable, str(workspace / "worker.py")], cwd=tmp_path),
             subprocess.Popen([sys.executable, "worker.py"], cwd=other)]  # not the lab's
    time.sleep(0.3)
    yield workspace, procs
    for proc in procs:
        proc.kill()
        proc.wait(timeout=5)


def test_lab07_consumer_gauge_and_stop_consumer(consumers) -> None:  # type: ignore[no-untyped-def]
    workspace, procs = consumers
    lab = api.get_lab("07")
    sampler = DashboardSampler(lab, Endpoint("http://127.0.0.1:9", "test"), workspace=workspace)
    gauge = sampler.sample().gauges[0]
    assert (gauge.label, gauge.value) == ("consumers", 2.0)
    line = chaos.run_chaos(lab, "crash-consumer", Endpoint("http://127.0.0.1:9", "test"),
                           workspace=workspace)
    assert f"SIGKILL sent to worker.py pid {procs[1].pid}" in line  # the newest
    assert procs[1].wait(timeout=5) == -signal.SIGKILL
    assert procs[0].poll() is None and procs[2].poll() is None
    assert [p.pid for p in running_programs(workspace, "worker.py")] == [procs[0].pid]
    assert sampler.sample().gauges[0].value == 1.0


def test_stop_consumer_refuses_when_none_runs(tmp_path: Path) -> None:
    lab = api.get_lab("07")
    with pytest.raises(TutorError, match=r"No `worker\.py` is running"):
        chaos.run_chaos(lab, "crash-consumer", Endpoint("http://127.0.0.1:9", "test"),
                        workspace=tmp_path)


@pytest.mark.localstack
def test_poison_message_ends_in_the_dlq_after_the_labs_worker(localstack: Endpoint,
                                                              queues: list[str]) -> None:
    lab = api.get_lab("04")
    sqs = client("sqs", localstack)
    _delete(localstack, ["lab04-orders", "lab04-orders-dlq"])
    dlq = _make(localstack, queues, "lab04-orders-dlq")
    source = _make(localstack, queues, "lab04-orders", VisibilityTimeout="1",
                   RedrivePolicy=json.dumps({"deadLetterTargetArn": _arn(localstack, dlq),
                                             "maxReceiveCount": 2}))
    line = chaos.run_chaos(lab, "poison-order", localstack)
    assert line.startswith("Poison message ") and "lab04-orders" in line
    workspace = api.start_lab(lab)
    shutil.copy(lab.solution / "worker.py", workspace / "worker.py")
    runner = ScenarioRunner(lab.id, lab.prefix, localstack, workspace)
    worker = runner.start("worker.py")  # the lab's reference worker: it cannot process it
    try:
        moved: list[dict[str, str]] = []
        deadline = time.monotonic() + 20
        while not moved and time.monotonic() < deadline:
            moved = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
    finally:
        worker.stop()
    output = worker.output()
    runner.close()
    assert moved, f"the poison message never reached the DLQ; worker said: {output[-400:]}"
    assert moved[0]["Body"].startswith('{"order": "o-') and moved[0]["Body"].endswith(": ")
    assert "failed" in output  # the worker tried and failed: JSONDecodeError
    assert sqs.get_queue_attributes(QueueUrl=source, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "0"


@pytest.mark.localstack
def test_fifo_poison_gets_its_group_and_burst_sends_count(localstack: Endpoint,
                                                          queues: list[str]) -> None:
    sqs = client("sqs", localstack)
    _delete(localstack, ["lab09-orders.fifo", "lab03-jobs"])
    fifo = _make(localstack, queues, "lab09-orders.fifo", FifoQueue="true")
    lab09 = api.get_lab("09")
    chaos.run_chaos(lab09, "declined-payment", localstack)
    chaos.run_chaos(lab09, "declined-payment", localstack)  # a new dedup id: not dropped
    got = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10,
                              MessageSystemAttributeNames=["MessageGroupId"])["Messages"]
    assert len(got) == 2
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"chaos-order"}
    assert all(json.loads(m["Body"])["poison"] is True for m in got)

    jobs = _make(localstack, queues, "lab03-jobs")
    lab03 = api.get_lab("03")
    line = chaos.run_chaos(lab03, "job-backlog", localstack)
    assert line.startswith("Burst: 500 messages to lab03-jobs")
    depth = sqs.get_queue_attributes(QueueUrl=jobs, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]
    assert depth == "500"


@pytest.mark.localstack
def test_chaos_on_a_missing_queue_says_so(localstack: Endpoint) -> None:
    _delete(localstack, ["lab02-logins"])
    with pytest.raises(TutorError, match=r"The queue `lab02-logins` does not exist yet"):
        chaos.run_chaos(api.get_lab("02"), "login-burst", localstack)


def test_lab_yaml_chaos_and_gauges_are_validated() -> None:
    raw = api.get_lab("07").spec.model_dump()
    with pytest.raises(ValidationError, match="not one of the lab's `programs:`"):
        LabSpec.model_validate({**raw, "chaos": [{"id": "x", "kind": "stop_consumer",
                                                  "label": "x", "script": "other.py"}]})
    with pytest.raises(ValidationError, match=r"bad placeholder"):
        ChaosAction(id="b", kind="burst", label="b", queue="jobs", body='{"n": $count}')
    with pytest.raises(ValidationError, match="needs `path`"):
        LabSpec.model_validate({**raw, "dashboard": {"gauges": [
            {"label": "rows", "kind": "sqlite_rows", "table": "t"}]}})


@pytest.mark.localstack
def test_lab07_real_scaler_consumers_counted_and_a_crash_replaced(localstack: Endpoint) -> None:
    """The consumer gauge counts the workers lab 07's own scaler starts; crashing one is
    seen by the scaler (consumer_died) and replaced, and the gauge follows."""
    lab = api.get_lab("07")
    workspace = api.start_lab(lab)
    for name in ("infra.py", "scaling.yaml"):
        shutil.copy(lab.solution / name, workspace / name)
    runner = ScenarioRunner(lab.id, lab.prefix, localstack, workspace)
    runner.run("infra.py", timeout=60)
    sampler = DashboardSampler(lab, localstack, workspace=workspace)
    scaler = runner.start("scaler.py", "--duration", "60", measure=False)
    try:
        assert runner.wait_until(lambda: sampler.sample().gauges[0].value == 1.0, timeout=20)
        first = [p.pid for p in running_programs(workspace, "worker.py")]
        line = chaos.run_chaos(lab, "crash-consumer", localstack, workspace=workspace)
        assert f"SIGKILL sent to worker.py pid {first[0]}" in line

        def replaced() -> bool:
            now = [p.pid for p in running_programs(workspace, "worker.py")]
            return len(now) == 1 and now != first

        assert runner.wait_until(replaced, timeout=15)
        log = [json.loads(x) for x in (workspace / "scaling-log.jsonl").read_text().splitlines()]
        died = [e for e in log if e["event"] == "consumer_died"]
        assert died and died[0]["pid"] == first[0] and died[0]["code"] == -signal.SIGKILL
        assert sampler.sample().gauges[0].value == 1.0
    finally:
        scaler.stop()
        runner.close()  # every program it started, and its scratch files
        api.reset_lab(lab, localstack)
    assert runner.wait_until(lambda: not running_programs(workspace, "worker.py"), timeout=10)
