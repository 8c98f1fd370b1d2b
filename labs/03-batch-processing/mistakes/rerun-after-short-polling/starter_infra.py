"""Create the lab's queues. Run it after each change: `python infra.py` (safe to rerun)."""

import json

import boto3

sqs = boto3.client("sqs")


def ensure_queue(name: str, attributes: dict[str, str]) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    if attributes:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


dlq_url = ensure_queue("lab03-jobs-dlq", {"MessageRetentionPeriod": str(14 * 24 * 3600)})
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
    "Attributes"]["QueueArn"]

jobs_url = ensure_queue("lab03-jobs", {
    "VisibilityTimeout": "5",
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    # TODO (step 1): turn on long polling for every receive on this queue. Which attribute
    # sets the default wait, and what is the most it can be? (Here: 2 s stands for 20 s.)
})
print(f"lab03-jobs: {jobs_url}")
