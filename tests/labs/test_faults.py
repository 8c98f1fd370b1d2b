"""Fault injection for real: learner programs crash, commits fail, batch entries fail,
messages arrive twice and API calls fail, exactly as chosen, against the real LocalStack."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tutor.cloud.clients import client
from tutor.engine.labs import faults
from tutor.engine.labs.scenario import ScenarioRunner

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

PREFIX = "lab95-"

# A consumer that prints what it does, one line per event, then deletes.
CONSUMER = """
import boto3, os, sys
sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName=sys.argv[1])["QueueUrl"]
print("start", os.getpid(), flush=True)
while True:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    for m in got.get("Messages", []):
        print("got", m["Body"], flush=True)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        print("deleted", m["Body"], flush=True)
"""

BATCHES = """
import boto3, json, sys
sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName=sys.argv[1])["QueueUrl"]
sent = sqs.send_message_batch(QueueUrl=url, Entries=[
    {"Id": f"s{i}", "MessageBody": f"b{i}"} for i in range(4)])
got = []
while len(got) < 3:
    got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
    {"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
print(json.dumps({"send_failed": [f["Id"] for f in sent.get("Failed", [])],
                  "delete_failed": [f["Id"] for f in deleted.get("Failed", [])],
                  "received": len(got)}))
"""

COMMITS = """
import sqlite3
conn = sqlite3.connect("f.db")
conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
outcomes = []
for i in range(4):
    try:
        if i % 2:
            conn.execute("INSERT INTO t VALUES (?)", (i,))
            conn.commit()
        else:
            with conn:
                conn.execute("INSERT INTO t VALUES (?)", (i,))
        outcomes.append("ok")
    except sqlite3.OperationalError as exc:
        outcomes.append("failed: " + str(exc))
print(outcomes)
print(sorted(x for (x,) in conn.execute("SELECT x FROM t")))
"""

DUPLICATES = """
import boto3, sys
sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName=sys.argv[1])["QueueUrl"]
seen = []
for _ in range(6):
    for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        seen.append(m["MessageId"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
print(len(seen), len(set(seen)))
"""

SWALLOW = """
import boto3, sys
sqs = boto3.client("sqs")
for attempt in range(3):
    try:
        sqs.get_queue_url(QueueName=sys.argv[1])
        print("attempt", attempt, "ok")
    except Exception as exc:
        print("attempt", attempt, "failed", type(exc).__name__)
"""


@pytest.fixture
def runner(localstack: Endpoint, tmp_path: Path):  # type: ignore[no-untyped-def]
    for name, text in {"consumer.py": CONSUMER, "batches.py": BATCHES,
                       "commits.py": COMMITS, "duplicates.py": DUPLICATES,
                       "swallow.py": SWALLOW}.items():
        (tmp_path / name).write_text(text)
    made = ScenarioRunner("95-faults", PREFIX, localstack, tmp_path)
    yield made
    made.close()


def _queue(localstack: Endpoint, visibility: int = 30) -> tuple[str, str]:
    name = f"{PREFIX}{uuid.uuid4().hex[:8]}"
    url = client("sqs", localstack).create_queue(
        QueueName=name, Attributes={"VisibilityTimeout": str(visibility)})["QueueUrl"]
    return name, url


def _send(localstack: Endpoint, url: str, bodies: list[str]) -> None:
    client("sqs", localstack).send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])


@pytest.mark.localstack
@pytest.mark.timeout(60)
def test_a_kill_after_a_delete_crashes_the_program_and_the_supervisor_restarts_it(
        localstack: Endpoint, runner: ScenarioRunner) -> None:
    name, url = _queue(localstack, visibility=2)  # what the dead one held comes back soon
    _send(localstack, url, [f"m{i}" for i in range(4)])
    runner.inject(faults.kill("DeleteMessage", nth=[2]))
    program = runner.start("consumer.py", name, restarts=2)
    assert runner.wait_until(lambda: program.output().count("deleted") >= 3, timeout=20)
    program.stop()
    out = program.output()
    assert program.restarts == 1 and program.exits == [-9]
    assert "the tutor started it again" in out
    # The second message was deleted, then the process died before it said so.
    assert out.count("got") == 4 and out.count("deleted") == 3
    [fired] = runner.fired("kill")
    assert fired["op"] == "DeleteMessage" and fired["when"] == "after"


@pytest.mark.localstack
@pytest.mark.timeout(60)
def test_batch_entries_fail_and_are_really_not_sent_or_deleted(
        localstack: Endpoint, runner: ScenarioRunner) -> None:
    name, url = _queue(localstack)
    runner.inject(faults.fail_batch_entries("SendMessageBatch", [1]),
                  faults.fail_batch_entries("DeleteMessageBatch", [0, 2]))
    program = runner.run("batches.py", name, timeout=30)
    report = json.loads(program.output().splitlines()[-1])
    assert report == {"send_failed": ["s1"], "delete_failed": ["d0", "d2"], "received": 3}
    sqs = client("sqs", localstack)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    # 3 sent, 1 deleted: the two failed deletes are still in flight
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "2"
    assert len(program.faults("batch_fail")) == 2


@pytest.mark.localstack
@pytest.mark.timeout(60)
def test_chosen_commits_fail_and_roll_back_however_the_commit_is_written(
        runner: ScenarioRunner) -> None:
    runner.inject(faults.fail_commit(2, 3))  # one plain commit(), one `with conn:`
    program = runner.run("commits.py", timeout=20)
    outcomes, rows = program.output().splitlines()[-2:]
    assert outcomes.count("failed: disk I/O error") == 2
    assert rows == "[0, 3]"
    assert len(program.faults("commit_fail")) == 2


@pytest.mark.localstack
@pytest.mark.timeout(60)
def test_a_message_is_delivered_twice_with_the_same_id(localstack: Endpoint,
                                                       runner: ScenarioRunner) -> None:
    name, url = _queue(localstack)
    _send(localstack, url, ["a", "b", "c"])
    runner.inject(faults.duplicate(2))
    program = runner.run("duplicates.py", name, timeout=30)
    assert program.output().splitlines()[-1] == "4 3"


@pytest.mark.localstack
@pytest.mark.timeout(60)
def test_an_api_error_fires_on_the_chosen_call_only(localstack: Endpoint,
                                                    runner: ScenarioRunner) -> None:
    name, _ = _queue(localstack)
    runner.inject(faults.api_error("sqs", "GetQueueUrl", nth=[2], code="ServiceUnavailable"))
    program = runner.run("swallow.py", name, timeout=30)
    lines = program.output().splitlines()[-3:]
    assert lines == ["attempt 0 ok", "attempt 1 failed ClientError", "attempt 2 ok"]


@pytest.mark.localstack
@pytest.mark.timeout(90)
def test_lambda_handlers_get_faults_from_a_plan_they_reread(localstack: Endpoint) -> None:
    import io
    import zipfile

    lam = client("lambda", localstack)
    name = f"{PREFIX}fn-{uuid.uuid4().hex[:6]}"
    queue, _ = _queue(localstack)
    source = ("import boto3\n"
              "def handler(event, context):\n"
              "    try:\n"
              f"        boto3.client('sqs').get_queue_url(QueueName='{queue}')\n"
              "        return 'ok'\n"
              "    except Exception as exc:\n"
              "        return type(exc).__name__\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h.py", source)
    lam.create_function(FunctionName=name, Runtime="python3.13", Handler="h.handler",
                        Role=f"arn:aws:iam::{localstack.account}:role/x",
                        Code={"ZipFile": buffer.getvalue()})
    try:
        deadline = time.monotonic() + 30
        while lam.get_function_configuration(FunctionName=name).get("State") == "Pending":
            assert time.monotonic() < deadline
            time.sleep(0.1)

        def call() -> str:
            return str(json.loads(lam.invoke(FunctionName=name)["Payload"].read()))

        assert call() == "ok"  # warm now, started before any plan existed
        handle = faults.LambdaFaults.discover(localstack, name)
        if handle is None:
            pytest.skip("this LocalStack's functions do not run the tutor's hook")
        since = time.time()
        handle.set([faults.api_error("sqs", "GetQueueUrl")])
        try:
            assert [call(), call()] == ["ClientError", "ok"]
            assert len(handle.fired(since)) == 1
        finally:
            handle.clear()
    finally:
        lam.delete_function(FunctionName=name)


@pytest.mark.localstack
@pytest.mark.timeout(60)
def test_tutor_receives_never_wait_on_the_queue_default(localstack: Endpoint) -> None:
    """A valid 20 s ReceiveMessageWaitTimeSeconds must not hold the tutor's own receives."""
    from tutor.engine.labs.checks import CheckContext
    from tutor.engine.labs.clock import LabClock

    name = f"{PREFIX}{uuid.uuid4().hex[:8]}"
    url = client("sqs", localstack).create_queue(
        QueueName=name, Attributes={"ReceiveMessageWaitTimeSeconds": "20"})["QueueUrl"]
    ctx = CheckContext("95-faults", PREFIX, localstack, Path("."), LabClock({}),
                       ScenarioRunner("95-faults", PREFIX, localstack, Path(".")))
    started = time.monotonic()
    assert ctx.drain(url) == 0
    assert time.monotonic() - started < 5
    with pytest.raises(ValueError, match="WaitTimeSeconds=20"):
        ctx.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=20)


AUTOCOMMIT = """
import sqlite3
conn = sqlite3.connect("a.db", isolation_level=None)
conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
outcomes = []
for i in range(3):
    try:
        conn.execute("INSERT INTO t VALUES (?)", (i,))
        outcomes.append("ok")
    except sqlite3.OperationalError:
        outcomes.append("failed")
print(outcomes, sorted(x for (x,) in conn.execute("SELECT x FROM t")))
"""


@pytest.mark.localstack
@pytest.mark.timeout(60)
def test_an_autocommit_write_is_a_commit_the_plan_can_fail(runner: ScenarioRunner,
                                                          tmp_path: Path) -> None:
    (tmp_path / "autocommit.py").write_text(AUTOCOMMIT)
    runner.inject(faults.fail_commit(2))
    program = runner.run("autocommit.py", timeout=20)
    assert program.output().splitlines()[-1] == "['ok', 'failed', 'ok'] [0, 2]"
    assert program.commits() == 2


@pytest.mark.localstack
@pytest.mark.timeout(90)
def test_idle_workers_are_told_apart_and_their_polls_outlived(localstack: Endpoint,
                                                              runner: ScenarioRunner) -> None:
    from tutor.engine.labs.checks import CheckContext
    from tutor.engine.labs.clock import LabClock

    name, url = _queue(localstack, visibility=60)
    _send(localstack, url, ["x", "y"])
    program = runner.start("consumer.py", name)
    assert runner.quiet([program], most=20)  # both handled, now polling an empty queue
    assert program.output().count("deleted") == 2
    assert program.poll_ends() > 0
    runner.stop_and_outlive_polls([program])
    assert time.time() >= program.poll_ends() - 0.01
    # A message taken by someone else and still in flight: clear() removes it too.
    sqs = client("sqs", localstack)
    _send(localstack, url, ["z"])
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages")
    ctx = CheckContext("95-faults", PREFIX, localstack, Path("."), LabClock({}), runner)
    ctx.clear(url)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == attrs[
        "ApproximateNumberOfMessagesNotVisible"] == "0"


@pytest.mark.localstack
@pytest.mark.timeout(90)
def test_faults_reach_running_programs_only_when_asked_and_only_the_named_one(
        localstack: Endpoint, runner: ScenarioRunner) -> None:
    name, url = _queue(localstack, visibility=2)
    first = runner.start("consumer.py", name)
    assert first.wait_ready()
    runner.inject(faults.kill("DeleteMessage", program="consumer.py"))  # not running=True
    _send(localstack, url, ["a"])
    assert runner.wait_until(lambda: "deleted a" in first.output(), timeout=20)
    assert first.alive and not first.faults()
    runner.inject(faults.kill("DeleteMessage", nth=[1], program="other.py", running=True,
                              id="not-me"),
                  faults.kill("DeleteMessage", nth=[1], program="consumer.py", running=True,
                              id="me"))
    time.sleep(0.3)
    _send(localstack, url, ["b"])
    assert runner.wait_until(lambda: not first.alive, timeout=20)
    assert [f["id"] for f in first.faults()] == ["me"]
    first.stop()


@pytest.mark.timeout(90)
def test_a_supervised_program_is_finished_only_when_no_restart_follows(
        tmp_path: Path) -> None:
    """`finished` never reads True while the supervisor is still going to start the
    program again: a check that stops waiting "when every worker has crashed" would
    otherwise judge a right program while the tutor's own crash is being restarted (lab
    11's reference solution failed that way, 7 runs in 36 on a loaded machine, when it
    read `not alive and restarts >= max_restarts`)."""
    from tutor.cloud.endpoint import Endpoint

    (tmp_path / "crash.py").write_text("import os\nos._exit(3)\n")
    runner = ScenarioRunner("95-faults", PREFIX, Endpoint("http://127.0.0.1:45999", "t"),
                            tmp_path)
    restarts, early = 6, []
    try:
        program = runner.start("crash.py", restarts=restarts, measure=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if program.finished:
                break
            if program.starting is False and not program.alive and \
                    program.restarts < restarts:
                early.append(program.restarts)  # a pending restart must read as starting
        assert program.finished, "the program never finished"
        assert program.restarts == restarts and program.exits == [3] * restarts
        time.sleep(0.5)
        assert program.restarts == restarts and not program.alive  # nothing came after
        assert not early, f"a pending restart read as not starting at {early}"
    finally:
        runner.close()


SHARD_READER = """
import sys, threading, boto3
kinesis = boto3.client("kinesis")
stream = sys.argv[1]
def read(shard):  # each shard in its own thread, as a threaded consumer does
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    for _ in range(3):
        reply = kinesis.get_records(ShardIterator=it, Limit=100)
        sys.stdout.write(f"{shard} {len(reply['Records'])}\\n")  # one write: no interleaving
        sys.stdout.flush()
        it = reply["NextShardIterator"]
shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=stream)["Shards"]]
threads = [threading.Thread(target=read, args=(s,)) for s in shards]
[t.start() for t in threads]
[t.join() for t in threads]
"""


@pytest.mark.localstack
@pytest.mark.timeout(120)
def test_each_get_records_event_names_its_shard(localstack: Endpoint,
                                                runner: ScenarioRunner) -> None:
    """The hook follows each iterator chain, so a GetRecords event says which shard it
    read, whatever order or threads the program reads its shards in (lab 11's "at the
    tip" is judged per shard from these)."""
    kinesis = client("kinesis", localstack)
    stream = f"{PREFIX}{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    try:
        kinesis.get_waiter("stream_exists").wait(StreamName=stream)
        for n in range(20):
            kinesis.put_record(StreamName=stream, Data=b"x", PartitionKey=f"k{n}")
        (runner.workspace / "shards.py").write_text(SHARD_READER)
        program = runner.run("shards.py", stream, timeout=60)
        printed = [line.split() for line in program.output().splitlines()
                   if line.startswith("shardId-")]
        reads = [e for e in program.events("api") if e.get("op") == "GetRecords"]
        assert len(reads) == len(printed) == 6, program.output()
        by_shard: dict[str, list[int]] = {}
        for event in reads:
            by_shard.setdefault(event["shard"], []).append(event["n"])
        seen: dict[str, list[int]] = {}
        for shard, count in printed:
            seen.setdefault(shard, []).append(int(count))
        assert by_shard == seen and len(seen) == 2  # each call under its own shard
        assert sum(n for counts in seen.values() for n in counts) == 20
    finally:
        kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)
