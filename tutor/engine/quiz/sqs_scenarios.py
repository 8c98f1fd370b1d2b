"""Predict-then-observe scenarios on SQS itself, and SNS delivering to SQS.

Each function takes a `Run` and keyword-only parameters (the `params:` of the question),
makes real calls against LocalStack through it, and returns an outcome key; the options
of a predict question carry these keys in `outcome:`. Keep each one under 15 s.
"""

from __future__ import annotations

import json
import threading
import time

from tutor.engine.quiz.observe import Run
from tutor.engine.quiz.scenario_registry import scenario


def _send(run: Run, url: str, body: str, **kwargs: object) -> None:
    run.sqs.send_message(QueueUrl=url, MessageBody=body, **kwargs)
    extra = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    run.log(f"SendMessage '{body}'" + (f" ({extra})" if extra else ""))


@scenario
def visibility_counts(run: Run, *, send: int = 3, receive: int = 1,
                      visibility_timeout: int = 30) -> str:
    url = run.queue("work", VisibilityTimeout=visibility_timeout)
    for i in range(send):
        _send(run, url, f"job-{i + 1}")
    run.receive(url, MaxNumberOfMessages=receive)
    visible, in_flight, _ = run.counts(url)
    return f"visible={visible},in_flight={in_flight}"


@scenario
def visibility_expiry(run: Run, *, visibility_timeout: int = 2, wait: int = 5) -> str:
    url = run.queue("work", VisibilityTimeout=visibility_timeout)
    _send(run, url, "job-1")
    run.receive(url, label="ReceiveMessage (consumer 1 crashes, never deletes)")
    again = run.receive(url, label="ReceiveMessage (consumer 2)", WaitTimeSeconds=wait)
    if not again:
        return "not-redelivered"
    return f"redelivered:count={again[0]['Attributes']['ApproximateReceiveCount']}"


@scenario
def dlq_after_receives(run: Run, *, max_receive_count: int = 2, receives: int = 3,
                       visibility_timeout: int = 1) -> str:
    dlq = run.queue("dlq")
    src = run.queue("orders", VisibilityTimeout=visibility_timeout, RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": run.arn(dlq), "maxReceiveCount": max_receive_count}))
    _send(run, src, "order-1")
    for attempt in range(1, receives + 1):
        if attempt > 1:
            # Wait for the timeout to run out rather than sleeping a fixed time: a loaded
            # machine must not turn this into a different experiment.
            run.wait_visible(src, limit=visibility_timeout + 4)
        run.receive(src, label=f"ReceiveMessage #{attempt} (consumer fails, no delete)")
    src_visible, src_flight, _ = run.counts(src)
    dlq_visible, dlq_flight, _ = run.counts(dlq)
    if dlq_visible + dlq_flight:
        return "dlq"
    if src_flight:
        return "source-in-flight"
    return "source-visible" if src_visible else "gone"


@scenario
def long_poll_late_message(run: Run, *, wait: int = 5, send_after: float = 1.0) -> str:
    url = run.queue("inbox")
    timer = threading.Timer(send_after, lambda: _send(run, url, "late-order"))
    began = time.monotonic()
    timer.start()
    try:
        got = run.receive(url, WaitTimeSeconds=wait)
        took = time.monotonic() - began
    finally:
        timer.cancel()
        # The message can arrive before the sender's SendMessage call has returned and
        # been logged: wait for it, so that the evidence ends with the outcome.
        timer.join(timeout=10)
    if got:  # generous margin: the send itself may be slow on a loaded machine
        return "message-early" if took < min(send_after + 3, wait - 0.5) else "message-at-end"
    return "empty-immediately" if took < 0.5 else "empty-after-wait"


@scenario
def queue_default_wait(run: Run, *, queue_wait: int = 2, request_wait: int = -1) -> str:
    """`request_wait` -1 leaves WaitTimeSeconds out of the request."""
    url = run.queue("idle", ReceiveMessageWaitTimeSeconds=queue_wait)
    began = time.monotonic()
    if request_wait < 0:
        run.receive(url)
    else:
        run.receive(url, WaitTimeSeconds=request_wait)
    took = time.monotonic() - began
    if took < 0.5:
        return "returned-immediately"
    return "waited-queue-setting" if abs(took - queue_wait) < 0.8 else f"waited-{took:.0f}s"


@scenario
def change_visibility_zero(run: Run, *, visibility_timeout: int = 30) -> str:
    url = run.queue("work", VisibilityTimeout=visibility_timeout)
    _send(run, url, "job-1")
    handle = run.receive(url)[0]["ReceiptHandle"]
    run.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    run.log("ChangeMessageVisibility(VisibilityTimeout=0) -> ok")
    run.counts(url)
    return "received-again" if run.receive(url) else "not-received"


@scenario
def fifo_group_blocked(run: Run, *, group_a: int = 2, group_b: int = 1) -> str:
    url = run.queue("orders", fifo=True, ContentBasedDeduplication=True)
    for i in range(group_a):
        _send(run, url, f"A{i + 1}", MessageGroupId="A")
    for i in range(group_b):
        _send(run, url, f"B{i + 1}", MessageGroupId="B")
    run.receive(url, label="ReceiveMessage (keeps it in flight)", MaxNumberOfMessages=1)
    second = run.receive(url, MaxNumberOfMessages=10)
    return ",".join(m["Body"] for m in second) or "none"


@scenario
def fifo_content_dedup(run: Run, *, copies: int = 2, gap: float = 1.0) -> str:
    url = run.queue("payments", fifo=True, ContentBasedDeduplication=True)
    for i in range(copies):
        if i:
            run.sleep(gap)
        _send(run, url, "charge card 42 for $10", MessageGroupId="card-42")
    visible, in_flight, _ = run.counts(url)
    return f"messages={visible + in_flight}"


@scenario
def fifo_dedup_id(run: Run) -> str:
    url = run.queue("payments", fifo=True)
    _send(run, url, "first", MessageGroupId="g", MessageDeduplicationId="pay-7")
    _send(run, url, "second", MessageGroupId="g", MessageDeduplicationId="pay-7")
    got = run.receive(url, MaxNumberOfMessages=10)
    return ",".join(m["Body"] for m in got) or "none"


@scenario
def delay_queue(run: Run, *, delay: int = 3) -> str:
    url = run.queue("emails", DelaySeconds=delay)
    _send(run, url, "welcome-mail")
    first = run.receive(url)
    _visible, _flight, delayed = run.counts(url)
    later = run.receive(url, label="ReceiveMessage (long poll)", WaitTimeSeconds=delay + 3)
    if first:
        return "received-now"
    return "delayed-then-received" if delayed and later else "delayed-never-received"


@scenario
def message_timer_override(run: Run, *, queue_delay: int = 10, message_delay: int = 0
                           ) -> str:
    url = run.queue("emails", DelaySeconds=queue_delay)
    _send(run, url, "reset-password", DelaySeconds=message_delay)
    return "received-now" if run.receive(url) else "delayed"


@scenario
def fifo_message_timer(run: Run, *, delay: int = 5) -> str:
    url = run.queue("orders", fifo=True, ContentBasedDeduplication=True)
    code = run.error_code(lambda: run.sqs.send_message(
        QueueUrl=url, MessageBody="order-1", MessageGroupId="g", DelaySeconds=delay),
        f"SendMessage(MessageGroupId=g, DelaySeconds={delay})")
    return f"rejected:{code}" if code else "accepted"


@scenario
def redrive_move_task(run: Run, *, destination: str = "") -> str:
    """`destination` '' omits DestinationArn; 'other' names a third queue."""
    dlq = run.queue("dlq")
    src = run.queue("orders", VisibilityTimeout=1, RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": run.arn(dlq), "maxReceiveCount": 1}))
    other = run.queue("other") if destination == "other" else None
    _send(run, src, "order-1")
    run.receive(src, label="ReceiveMessage #1 (consumer fails)")
    run.wait_visible(src)
    run.receive(src, label="ReceiveMessage #2 (moves it to the DLQ)")
    run.counts(dlq)
    kwargs = {"SourceArn": run.arn(dlq)}
    if other:
        kwargs["DestinationArn"] = run.arn(other)
    task = run.sqs.start_message_move_task(**kwargs)
    run.log(f"StartMessageMoveTask({', '.join(kwargs)}) -> {task['TaskHandle'][:12]}...")
    status = "?"
    for _ in range(50):  # the task is asynchronous: poll its status, bounded
        tasks = run.sqs.list_message_move_tasks(SourceArn=kwargs["SourceArn"])["Results"]
        status = tasks[0]["Status"] if tasks else "?"
        if status in {"COMPLETED", "FAILED", "CANCELLED"}:
            break
        time.sleep(0.2)
    run.log(f"ListMessageMoveTasks -> {status}")
    where = [name for name, url in (("source", src), ("dlq", dlq), ("other", other))
             if url and sum(run.counts(url)[:2])]
    return ",".join(where) or "gone"


@scenario
def batch_too_many(run: Run, *, entries: int = 11) -> str:
    url = run.queue("bulk")
    batch = [{"Id": str(i), "MessageBody": f"item-{i}"} for i in range(entries)]
    failed: list[object] = []

    def send() -> None:
        failed.extend(run.sqs.send_message_batch(QueueUrl=url, Entries=batch)
                      .get("Failed", []))

    code = run.error_code(send, f"SendMessageBatch({entries} entries)")
    visible, _, _ = run.counts(url)
    if code:
        return f"rejected:{code}" if visible == 0 else f"partial:{visible}"
    return f"partial:{visible}" if failed else "accepted"


@scenario
def sns_filter_fanout(run: Run) -> str:
    topic = run.topic("orders")
    audit, refunds = run.queue("audit"), run.queue("refunds")
    run.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=run.arn(audit),
                      Attributes={"RawMessageDelivery": "true"})
    run.log("Subscribe audit queue (no filter policy)")
    run.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=run.arn(refunds),
                      Attributes={"RawMessageDelivery": "true",
                                  "FilterPolicy": json.dumps({"kind": ["refund"]})})
    run.log('Subscribe refunds queue (FilterPolicy {"kind": ["refund"]})')
    for kind in ("order", "refund", "order"):
        run.sns.publish(TopicArn=topic, Message=f"{kind} event", MessageAttributes={
            "kind": {"DataType": "String", "StringValue": kind}})
        run.log(f"Publish (kind={kind})")
    deadline = time.monotonic() + 5  # SNS delivers asynchronously: wait until both settle
    while True:
        a, b = sum(run.counts(audit)[:2]), sum(run.counts(refunds)[:2])
        if (a >= 3 and b >= 1) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    return f"audit={a},refunds={b}"


@scenario
def sns_envelope(run: Run, *, raw: bool = False) -> str:
    topic = run.topic("events")
    url = run.queue("consumer")
    run.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=run.arn(url),
                      Attributes={"RawMessageDelivery": str(raw).lower()})
    run.log(f"Subscribe (RawMessageDelivery={str(raw).lower()})")
    run.sns.publish(TopicArn=topic, Message='{"order": 1}')
    run.log('Publish Message=\'{"order": 1}\'')
    got = run.receive(url, WaitTimeSeconds=5)
    if not got:
        return "not-delivered"
    try:
        body = json.loads(got[0]["Body"])
    except ValueError:
        return "other"
    return "envelope" if isinstance(body, dict) and body.get("Type") == "Notification" \
        else "raw"


@scenario
def message_size(run: Run, *, kib: int = 300) -> str:
    url = run.queue("uploads")
    code = run.error_code(lambda: run.sqs.send_message(QueueUrl=url, MessageBody="x" * (
        kib * 1024)), f"SendMessage(body of {kib} KiB)")
    return f"rejected:{code}" if code else "accepted"


@scenario
def receive_limits(run: Run, *, max_messages: int = 10, wait: int = 0) -> str:
    url = run.queue("inbox")
    _send(run, url, "job-1")
    code = run.error_code(lambda: run.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=wait),
        f"ReceiveMessage(MaxNumberOfMessages={max_messages}, WaitTimeSeconds={wait})")
    return f"rejected:{code}" if code else "accepted"


@scenario
def receive_visibility_override(run: Run, *, queue_timeout: int = 30,
                                receive_timeout: int = 1, wait: int = 5) -> str:
    url = run.queue("work", VisibilityTimeout=queue_timeout)
    _send(run, url, "job-1")
    run.receive(url, label="ReceiveMessage (consumer 1, no delete)",
                VisibilityTimeout=receive_timeout)
    began = time.monotonic()
    again = run.receive(url, label="ReceiveMessage (consumer 2)", WaitTimeSeconds=wait)
    took = time.monotonic() - began
    if not again:
        return "not-redelivered"
    return "redelivered-early" if took < queue_timeout / 2 else "redelivered-late"
