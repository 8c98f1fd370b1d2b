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


# Step 1 — the orders queue.
# TODO: a FIFO queue's name must end in `.fifo` and it needs the FifoQueue attribute at
#       creation (it cannot be changed later). Turn on content-based deduplication too.
ensure_queue(f"{PREFIX}orders", {}, {"VisibilityTimeout": str(VISIBILITY_TIMEOUT)})

# Step 3 — the dead-letter queue.
# TODO: create `lab09-orders-dlq.fifo` and give the orders queue a RedrivePolicy
#       (deadLetterTargetArn + maxReceiveCount 3). What kind of queue may a FIFO
#       queue's DLQ be?
_ = json  # you will need json.dumps for the RedrivePolicy

# Step 5 — the throughput comparison.
# TODO: create `lab09-bench` (standard) and `lab09-bench.fifo` with high throughput
#       mode (DeduplicationScope and FifoThroughputLimit).
