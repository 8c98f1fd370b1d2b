"""Step 1: the SQS queue of lab 11 (run it again after every change: it is idempotent)."""

import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")
VISIBILITY_TIMEOUT = 5  # lab clock: 5 s here stands for 30 s (the default) in production

sqs = boto3.client("sqs")

# A standard queue: one consumer group shares it, each message goes to one worker.
url = sqs.create_queue(QueueName=f"{PREFIX}orders")["QueueUrl"]
sqs.set_queue_attributes(QueueUrl=url,
                         Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT)})
print(f"ready: {PREFIX}orders (visibility timeout {VISIBILITY_TIMEOUT} s)")
