"""Create lab 01's queue (idempotent: run it again after every change)."""

import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab01-")

sqs = boto3.client("sqs")

# Visibility timeout 2 s (lab clock; 60 s in production): longer than the worker's 1 s
# downstream timeout, so a message is never redelivered while the worker still works on
# it, and short enough that a failed order is retried soon after downstream is back.
url = sqs.create_queue(QueueName=f"{PREFIX}orders")["QueueUrl"]
sqs.set_queue_attributes(QueueUrl=url, Attributes={
    "VisibilityTimeout": "2",
    "ReceiveMessageWaitTimeSeconds": "1",
})
print(f"ready: {PREFIX}orders")
