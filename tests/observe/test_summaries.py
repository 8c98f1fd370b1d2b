"""rates and oldest_age on events recorded by the real LocalStack."""

from __future__ import annotations

import time

import pytest

from tutor.cloud.clients import client
from tutor.cloud.endpoint import Endpoint
from tutor.engine.observe.trace import TraceEvent, oldest_age, rates

from .helpers import unique, wait_for

pytestmark = pytest.mark.localstack


def _ev(seq: int, at: float, kind: str, mid: str, queue: str = "q",
        other: str | None = None) -> TraceEvent:
    return TraceEvent(seq, at, kind, "000000000000", "us-east-1", queue, mid, 0, other)


def test_rates_and_oldest_age_on_real_events(localstack: Endpoint) -> None:
    sqs = client("sqs", localstack)
    name = unique("obs-rates")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4)["Messages"]
    sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    events = wait_for(localstack, [name], lambda ev: sum(e.kind == "deleted" for e in ev) == 4)

    span = max(e.at for e in events) - min(e.at for e in events)
    window = span + 1.0
    r = rates(events, window)
    assert r == pytest.approx({"sent": 10 / window, "received": 4 / window,
                               "deleted": 4 / window})
    first_sent = min(e.at for e in events if e.kind == "sent")
    now = time.time()
    age = oldest_age(events, now, queue=name)
    assert age is not None and age == pytest.approx(now - first_sent, abs=0.5)
    # all 10 sent in one batch: the oldest still there is no younger than the first sent
    deleted = {e.message_id for e in events if e.kind == "deleted"}
    remaining = [e.at for e in events if e.kind == "sent" and e.message_id not in deleted]
    assert age == pytest.approx(now - min(remaining))
    assert oldest_age(events, now, queue="some-other-queue") is None


def test_oldest_age_follows_a_message_into_the_dlq_and_back() -> None:
    events = [_ev(1, 100.0, "sent", "a"), _ev(2, 101.0, "sent", "b"),
              _ev(3, 105.0, "moved_to_dlq", "a", "q", "dlq"), _ev(4, 106.0, "deleted", "b")]
    assert oldest_age(events, 110.0, queue="q") is None
    assert oldest_age(events, 110.0, queue="dlq") == 10.0  # age counts from the first send
    events.append(_ev(5, 108.0, "redriven", "a", "dlq", "q"))
    assert oldest_age(events, 110.0, queue="dlq") is None
    assert oldest_age(events, 110.0) == 10.0
    assert rates(events, 0) == {"sent": 0.0, "received": 0.0, "deleted": 0.0}
    assert rates(events, 10.0, now=110.0)["deleted"] == pytest.approx(0.1)
    assert rates(events, 10.0, now=110.0, queue="dlq")["deleted"] == 0.0
