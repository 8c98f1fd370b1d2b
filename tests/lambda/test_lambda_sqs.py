"""LocalStack's own SQS event source mapping drives functions on the tutor's executor."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tutor.cloud import clients

from .helpers import handler_zip, invoke, read_lines, unique, wait_for

pytestmark = pytest.mark.localstack


@pytest.fixture
def sqs(localstack: Any) -> Any:
    return clients.client("sqs", localstack)


@pytest.fixture
def queues(sqs: Any):
    """Make queues with unique names; delete them after the test."""
    made: list[str] = []

    def make(prefix: str, **attributes: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=unique(prefix), Attributes=attributes)["QueueUrl"]
        made.append(url)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    yield make
    for url in made:
        sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def mappings(lam: Any, make_function: Any):
    """Event source mappings, deleted before their functions (hence `make_function`)."""
    made: list[str] = []

    def make(**kwargs: Any) -> dict[str, Any]:
        esm = lam.create_event_source_mapping(**kwargs)
        made.append(esm["UUID"])
        return dict(esm)

    yield make
    for uuid in made:
        try:
            lam.delete_event_source_mapping(UUID=uuid)
        except lam.exceptions.ResourceNotFoundException:
            pass


def send_burst(sqs: Any, url: str, bodies: list[str]) -> None:
    for start in range(0, len(bodies), 10):
        chunk = bodies[start:start + 10]
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)])


def test_burst_is_delivered_in_batches(lam, sqs, queues, mappings, make_function, tmp_path):
    record = tmp_path / "batches.jsonl"
    url, arn = queues("burst")
    bodies = [f"order-{i}" for i in range(50)]
    send_burst(sqs, url, bodies)
    name = make_function(handler_zip("batch.py"), "batch.handler",
                         env={"RECORD_FILE": str(record)})
    mappings(EventSourceArn=arn, FunctionName=name, BatchSize=10,
             MaximumBatchingWindowInSeconds=1)

    wait_for(lambda: sum(b["size"] for b in read_lines(record)) >= 50, 40, "50 messages")
    batches = read_lines(record)
    sizes = [b["size"] for b in batches]
    assert sorted(body for b in batches for body in b["bodies"]) == sorted(bodies)
    assert max(sizes) > 1 and max(sizes) <= 10
    assert len(batches) < 50  # batched, not one invoke per message


def test_partial_batch_failure_sends_only_the_failed_message_to_the_dlq(
        lam, sqs, queues, mappings, make_function, tmp_path):
    record = tmp_path / "batches.jsonl"
    dlq_url, dlq_arn = queues("orders-dlq")
    url, arn = queues("orders", VisibilityTimeout="1", RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
    bodies = ["ok-1", "ok-2", "poison-3", "ok-4", "ok-5"]
    send_burst(sqs, url, bodies)
    name = make_function(handler_zip("batch.py"), "batch.handler",
                         env={"RECORD_FILE": str(record), "REPORT_FAILURES": "1"})
    mappings(EventSourceArn=arn, FunctionName=name, BatchSize=10,
             MaximumBatchingWindowInSeconds=1, FunctionResponseTypes=["ReportBatchItemFailures"])

    def dead_letters() -> list[str]:
        got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return [m["Body"] for m in got.get("Messages", [])]

    assert wait_for(dead_letters, 45, "the poison message in the DLQ") == ["poison-3"]
    seen: dict[str, int] = {}
    for batch in read_lines(record):
        for body in batch["bodies"]:
            seen[body] = seen.get(body, 0) + 1
    # Successes were deleted after the first batch; only the failure came back, twice.
    assert {body: n for body, n in seen.items() if body.startswith("ok")} == {
        "ok-1": 1, "ok-2": 1, "ok-4": 1, "ok-5": 1}
    assert seen["poison-3"] == 2
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert attrs == {"ApproximateNumberOfMessages": "0",
                     "ApproximateNumberOfMessagesNotVisible": "0"}


def test_maximum_concurrency_caps_parallel_environments(
        lam, sqs, queues, mappings, make_function, tmp_path):
    record = tmp_path / "batches.jsonl"
    name = make_function(handler_zip("batch.py"), "batch.handler",
                         env={"RECORD_FILE": str(record), "SLEEP": "0.4"})
    # Control: direct parallel invokes do get several environments of this function.
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: invoke(lam, name, {"Records": []}), range(4)))
    direct_pids = {b["pid"] for b in read_lines(record)}
    assert len(direct_pids) >= 2
    record.unlink()

    url, arn = queues("capped")
    send_burst(sqs, url, [f"job-{i}" for i in range(8)])
    esm = mappings(EventSourceArn=arn, FunctionName=name, BatchSize=1,
                   ScalingConfig={"MaximumConcurrency": 2})
    assert esm["ScalingConfig"] == {"MaximumConcurrency": 2}
    wait_for(lambda: sum(b["size"] for b in read_lines(record)) >= 8, 40, "8 messages")
    esm_pids = {b["pid"] for b in read_lines(record)}
    # The tutor's pollers (esm_scaling) run batches in parallel, never beyond the cap.
    assert len(esm_pids) == 2
