"""Create the lab's queues. Run it after each change: `python infra.py` (safe to rerun)."""

import json

import boto3

sqs = boto3.client("sqs")

SOURCE = "lab04-orders"
DLQ = "lab04-orders-dlq"


def ensure_queue(name: str, attributes: dict[str, str]) -> str:
    """Create the queue if needed, then set its attributes (so reruns apply changes)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    if attributes:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def arn_of(url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]


# The DLQ keeps messages 14 days, longer than the source's 4 days: a standard queue keeps
# the original enqueue time, so a DLQ with a shorter retention would expire them at once.
dlq_url = ensure_queue(DLQ, {"MessageRetentionPeriod": str(14 * 24 * 3600)})
dlq_arn = arn_of(dlq_url)

source_attributes = {
    # 5 s here = 5 min in production: more than the 2 s (2 min) an order takes.
    "VisibilityTimeout": "5",
    "MessageRetentionPeriod": str(4 * 24 * 3600),
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
}
source_url = ensure_queue(SOURCE, source_attributes)

sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={
    "RedriveAllowPolicy": json.dumps({"redrivePermission": "byQueue",
                                      "sourceQueueArns": [arn_of(source_url)]}),
})

print(f"{SOURCE}: {source_url}")
print(f"{DLQ}: {dlq_url}")
