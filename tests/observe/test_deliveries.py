"""`Deliveries`, the lifecycle reader labs 05 and 06 judge a Lambda consumer by: receives
per message, receive calls, what is held, redeliveries; nothing where there is no trace."""

from __future__ import annotations

import time

import pytest

from tutor.cloud.clients import client
from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.deliveries import Deliveries

from .helpers import unique, without_trace


@pytest.mark.localstack
@pytest.mark.timeout(60)
def test_it_counts_receives_calls_held_and_redelivered(localstack: Endpoint) -> None:
    sqs = client("sqs", localstack)
    name = unique("deliveries")
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    since = time.time() - 1.0
    try:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"}
                                                      for i in range(3)])
        got: list[dict[str, str]] = []
        while len(got) < 3:
            got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", [])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
        ids = [m["MessageId"] for m in got]
        deliveries = Deliveries(localstack, name, since)
        deadline = time.monotonic() + 15
        while deliveries.held() != set(ids[1:]) and time.monotonic() < deadline:
            time.sleep(0.2)
            deliveries.read()
        assert deliveries.available
        assert deliveries.held() == set(ids[1:]) and deliveries.ended == {ids[0]}
        assert deliveries.redelivered() == 0 and 1 <= deliveries.receives <= 3
        idle = deliveries.idle_for()
        assert idle is not None and 0 <= idle < 15
        # Not deleted: back after the visibility timeout, received a second time.
        again: list[dict[str, str]] = []
        while len(again) < 2 and time.monotonic() < deadline + 15:
            again += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                         WaitTimeSeconds=2).get("Messages", [])
        while deliveries.redelivered() < 2 and time.monotonic() < deadline + 20:
            time.sleep(0.2)
            deliveries.read()
        assert deliveries.redelivered() == 2
        assert all(deliveries.received[m] == 2 for m in ids[1:])
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_without_a_trace_nothing_is_claimed() -> None:
    with without_trace() as url:
        deliveries = Deliveries(Endpoint(url, "test"), "q", 0.0)
        deliveries.read()
        assert not deliveries.available
        assert deliveries.held() is None and deliveries.idle_for() is None
        deliveries.read()  # and it does not ask again
