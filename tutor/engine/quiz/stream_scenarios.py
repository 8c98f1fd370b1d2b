"""Predict-then-observe scenarios of SQS vs SNS vs Kinesis (lab 11): a stream replays,
partition keys pick shards, a consumer resumes from a checkpoint, SNS keeps nothing for a
late subscriber. Same contract as `sqs_scenarios`: outcome keys, under 15 s each.
"""

from __future__ import annotations

import time

from tutor.engine.quiz.observe import Run
from tutor.engine.quiz.scenario_registry import scenario
from tutor.engine.quiz.sqs_scenarios import _send


def _put(run: Run, stream: str, data: str, key: str) -> dict[str, str]:
    reply = run.kinesis.put_record(StreamName=stream, Data=data.encode(), PartitionKey=key)
    run.log(f"PutRecord '{data}' (PartitionKey={key}) -> {reply['ShardId']}, sequence "
            f"...{reply['SequenceNumber'][-6:]}")
    return {"shard": reply["ShardId"], "sequence": reply["SequenceNumber"]}


def _read(run: Run, stream: str, shard: str, label: str, **where: str) -> list[str]:
    """One GetRecords from the iterator `where` describes; the records' data, logged."""
    kinesis = run.kinesis
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard,
                                          **where)["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=100)["Records"]
    data = [r["Data"].decode() for r in records]
    how = where["ShardIteratorType"] + (" ..." + where["StartingSequenceNumber"][-6:]
                                        if "StartingSequenceNumber" in where else "")
    run.log(f"{label}: GetRecords ({shard}, {how}) -> {data or 'no records'}")
    return data


@scenario
def kinesis_reread(run: Run, *, events: int = 3) -> str:
    """The same events in a queue and in a stream; consumer A processes them all, then a
    second consumer B reads each from the start. What does B get?"""
    url = run.queue("orders")
    stream = run.stream("orders")
    shard = run.shard_ids(stream)[0]
    for i in range(1, events + 1):
        _send(run, url, f"order-{i}")
        _put(run, stream, f"order-{i}", "orders")
    got = run.receive(url, label="consumer A: ReceiveMessage", MaxNumberOfMessages=10)
    for message in got:
        run.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    run.log(f"consumer A: DeleteMessage x{len(got)} (processed)")
    _read(run, stream, shard, "consumer A", ShardIteratorType="TRIM_HORIZON")
    again = run.receive(url, label="consumer B: ReceiveMessage", MaxNumberOfMessages=10)
    replay = _read(run, stream, shard, "consumer B", ShardIteratorType="TRIM_HORIZON")
    return f"kinesis={len(replay)},sqs={len(again)}"


@scenario
def kinesis_same_key(run: Run, *, shards: int = 4, records: int = 8, keys: int = 1) -> str:
    """`records` records with `keys` distinct partition keys into a stream of `shards`:
    how many shards hold records?"""
    stream = run.stream("telemetry", shards)
    used: set[str] = set()
    for i in range(records):
        used.add(_put(run, stream, f"reading-{i + 1}", f"sensor-{i % keys + 1}")["shard"])
    holding = []
    for shard in run.shard_ids(stream):
        if _read(run, stream, shard, "reader", ShardIteratorType="TRIM_HORIZON"):
            holding.append(shard)
    return f"shards-used={len(holding)}"


@scenario
def kinesis_resume(run: Run, *, iterator: str = "AT_SEQUENCE_NUMBER") -> str:
    """A consumer checkpointed event-2 and restarts with `iterator` from that sequence
    number. Which record does it read first?"""
    stream = run.stream("orders")
    put = [_put(run, stream, f"event-{i}", "order-7") for i in (1, 2, 3)]
    run.log(f"checkpoint saved: event-2, sequence ...{put[1]['sequence'][-6:]}")
    data = _read(run, stream, put[1]["shard"], "restarted consumer",
                 ShardIteratorType=iterator, StartingSequenceNumber=put[1]["sequence"])
    return f"first={data[0]}" if data else "nothing"


@scenario
def sns_late_subscriber(run: Run, *, early: int = 2, late: int = 1) -> str:
    """`early` messages are published while only queue A is subscribed; then queue B
    subscribes and `late` more are published. What does each queue hold?"""
    topic = run.topic("orders")
    first, second = run.queue("first"), run.queue("later")
    run.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=run.arn(first),
                      Attributes={"RawMessageDelivery": "true"})
    run.log("Subscribe queue A")
    for i in range(early):
        run.sns.publish(TopicArn=topic, Message=f"order-{i + 1}")
        run.log(f"Publish 'order-{i + 1}'")
    run.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=run.arn(second),
                      Attributes={"RawMessageDelivery": "true"})
    run.log("Subscribe queue B (after those publishes)")
    for i in range(early, early + late):
        run.sns.publish(TopicArn=topic, Message=f"order-{i + 1}")
        run.log(f"Publish 'order-{i + 1}'")
    deadline = time.monotonic() + 5  # SNS delivers asynchronously: wait until both settle
    while True:
        a, b = sum(run.counts(first)[:2]), sum(run.counts(second)[:2])
        if (a >= early + late and b >= late) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    return f"a={a},b={b}"
