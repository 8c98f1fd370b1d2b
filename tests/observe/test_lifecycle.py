"""The recorder inside the real embedded LocalStack sees a message's whole life, once."""

from __future__ import annotations

import itertools
import json

import pytest

from tutor.cloud.clients import client
from tutor.cloud.endpoint import Endpoint
from tutor.engine.observe.timeline import lifecycle, recent_messages

from .helpers import unique, wait_for

pytestmark = pytest.mark.localstack


def _queue(sqs: object, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[attr-defined]
    arn = sqs.get_queue_attributes(  # type: ignore[attr-defined]
        QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _receive(sqs: object, url: str) -> list[dict[str, object]]:
    got = sqs.receive_message(  # type: ignore[attr-defined]
        QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["ApproximateReceiveCount"])
    return list(got.get("Messages", []))


def _kinds(events: list, message_id: str) -> list[tuple[str, int | None, str, str | None]]:
    return [(e.kind, e.receive_count, e.queue, e.other_queue)
            for e in events if e.message_id == message_id]


def test_full_lifecycle_with_dlq_and_redrive(localstack: Endpoint) -> None:
    sqs = client("sqs", localstack)
    src_name, dlq_name = unique("obs-src"), unique("obs-dlq")
    dlq_url, dlq_arn = _queue(sqs, dlq_name)
    src_url, _ = _queue(sqs, src_name, VisibilityTimeout="1", RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
    queues = [src_name, dlq_name]

    mid = sqs.send_message(QueueUrl=src_url, MessageBody="order-1")["MessageId"]
    for attempt in (1, 2):  # the consumer "crashes": it never deletes, the timeout runs out
        got = _receive(sqs, src_url)
        assert [m["MessageId"] for m in got] == [mid]
        wait_for(localstack, queues, lambda ev, n=attempt: sum(
            e.kind == "visibility_expired" for e in ev) == n)
    assert _receive(sqs, src_url) == []  # the third receive moves it to the DLQ instead
    dlq_msgs = _receive(sqs, dlq_url)
    # LocalStack keeps the message id across the DLQ move, as AWS does.
    assert [m["MessageId"] for m in dlq_msgs] == [mid]
    sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=dlq_msgs[0]["ReceiptHandle"],
                                  VisibilityTimeout=0)
    sqs.start_message_move_task(SourceArn=dlq_arn)
    wait_for(localstack, queues, lambda ev: any(e.kind == "redriven" for e in ev))
    back = _receive(sqs, src_url)
    assert [m["MessageId"] for m in back] == [mid]
    sqs.delete_message(QueueUrl=src_url, ReceiptHandle=back[0]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=src_url, ReceiptHandle=back[0]["ReceiptHandle"])  # again: no-op
    events = wait_for(localstack, queues, lambda ev: any(e.kind == "deleted" for e in ev))

    assert _kinds(events, mid) == [
        ("sent", 0, src_name, None),
        ("received", 1, src_name, None),
        ("visibility_expired", 1, src_name, None),
        ("received", 2, src_name, None),
        ("visibility_expired", 2, src_name, None),
        ("moved_to_dlq", 2, src_name, dlq_name),
        ("received", 3, dlq_name, None),
        ("visibility_changed", 3, dlq_name, None),
        ("redriven", 4, dlq_name, src_name),
        ("received", 5, src_name, None),
        ("deleted", 5, src_name, None),
    ]
    assert all(e.account and e.region for e in events)
    assert [e.seq for e in events] == sorted(e.seq for e in events)

    steps = lifecycle(events, mid)
    assert [s.title for s in steps] == [
        "sent", "received #1", "visibility expired", "received #2", "visibility expired",
        f"moved to DLQ {dlq_name}", "received #3", "visibility changed",
        f"redriven to {src_name}", "received #5", "deleted"]
    assert [s.pointer.tag for s in steps] == [
        "retention", "visibility-timeout", "visibility-timeout", "idempotency",
        "visibility-timeout", "dlq", "idempotency", "visibility-timeout", "redrive",
        "idempotency", None]
    assert steps[5].pointer.text.startswith("maxReceiveCount reached")
    assert steps[8].pointer.text == "DLQ redrive (StartMessageMoveTask) back to the source"
    assert steps[-1].pointer.text == "only DeleteMessage ends a message's life"
    assert steps[0].offset == 0 and all(
        a.offset <= b.offset for a, b in itertools.pairwise(steps))
    assert steps[2].offset >= 1.0  # the 1 s visibility timeout really ran out
    [summary] = recent_messages(events, [dlq_name])
    assert (summary.message_id, summary.queue, summary.state, summary.receive_count) == (
        mid, src_name, "deleted", 5)


def test_fifo_duplicates_visibility_and_order(localstack: Endpoint) -> None:
    sqs = client("sqs", localstack)
    name = unique("obs-fifo") + ".fifo"
    url, _ = _queue(sqs, name, FifoQueue="true", ContentBasedDeduplication="true")
    first = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g")["MessageId"]
    second = sqs.send_message(QueueUrl=url, MessageBody="b", MessageGroupId="g")["MessageId"]
    again = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g")["MessageId"]
    assert again == first  # deduplicated within 5 minutes: the original's id comes back

    got = _receive(sqs, url)
    assert [m["MessageId"] for m in got] == [first]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"],
                                  VisibilityTimeout=0)
    got = _receive(sqs, url)  # the same message again: the group stays in order
    assert [m["MessageId"] for m in got] == [first]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    got = _receive(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    events = wait_for(localstack, [name], lambda ev: sum(e.kind == "deleted" for e in ev) == 2)

    assert [(e.kind, e.message_id, e.receive_count) for e in events] == [
        ("sent", first, 0), ("sent", second, 0), ("deduplicated", first, 0),
        ("received", first, 1), ("visibility_changed", first, 1), ("received", first, 2),
        ("deleted", first, 2), ("received", second, 1), ("deleted", second, 1),
    ]


def test_purge_ends_every_message_still_there(localstack: Endpoint) -> None:
    sqs = client("sqs", localstack)
    name = unique("obs-purge")
    url, _ = _queue(sqs, name)
    ids = {sqs.send_message(QueueUrl=url, MessageBody=str(i))["MessageId"] for i in range(3)}
    _receive(sqs, url)  # one of them in flight: purged too
    sqs.purge_queue(QueueUrl=url)
    events = wait_for(localstack, [name], lambda ev: sum(e.kind == "purged" for e in ev) == 3)
    assert {e.message_id for e in events if e.kind == "purged"} == ids
    assert [e.kind for e in events].count("purged") == 3
