"""Create the queues of lab 09 (run it again after every change: it is idempotent)."""

import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab09-")
VISIBILITY_TIMEOUT = 3  # lab clock: 3 s here stands for 30 s (the default) in production

sqs = boto3.client("sqs")


def ensure_queue(name: str, create_attrs: dict[str, str], attrs: dict[str, str]) -> str:
    """Create `name` (attributes fixed at creation) then apply the changeable ones."""
    url = sqs.create_queue(QueueName=name, Attributes=create_attrs)["QueueUrl"]
    if attrs:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)
    print(f"ready: {name}")
    return url


def arn(url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]


# Step 1 — the orders queue: FIFO (fixed at creation) with content-based deduplication.
FIFO = {"FifoQueue": "true"}
orders = ensure_queue(f"{PREFIX}orders.fifo", FIFO,
                      {"ContentBasedDeduplication": "true",
                       "VisibilityTimeout": str(VISIBILITY_TIMEOUT)})

# Step 3 — the DLQ of a FIFO queue must itself be FIFO (AWS refuses anything else).
dlq = ensure_queue(f"{PREFIX}orders-dlq.fifo", FIFO, {})
sqs.set_queue_attributes(QueueUrl=orders, Attributes={"RedrivePolicy": json.dumps(
    {"deadLetterTargetArn": arn(dlq), "maxReceiveCount": 3})})

# Step 5 — the same burst goes to a standard queue and to a high-throughput FIFO queue.
ensure_queue(f"{PREFIX}bench", {}, {})
ensure_queue(f"{PREFIX}bench.fifo", FIFO,
             {"DeduplicationScope": "messageGroup",
              "FifoThroughputLimit": "perMessageGroupId"})
