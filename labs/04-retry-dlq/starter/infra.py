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


# TODO (step 1): create the dead-letter queue `lab04-orders-dlq` first. How long should it
# keep a message compared with the source queue?

source_attributes = {
    # TODO (step 2): the worker needs about 2 s per order (see PROCESSING_SECONDS in
    # worker.py). What happens to an order that is still being processed when this expires?
    "VisibilityTimeout": "1",
    # TODO (step 1): add a RedrivePolicy that sends a message to the DLQ after a few
    # failed receives. Hint: the value is a JSON string.
}
source_url = ensure_queue(SOURCE, source_attributes)

# TODO (step 1): allow only lab04-orders to use the DLQ (its RedriveAllowPolicy).

print(f"{SOURCE}: {source_url}")
print(json.dumps(sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["All"])[
    "Attributes"], indent=2))
