"""Create lab 01's queue with boto3.resource, attributes at creation."""

import boto3

queue = boto3.resource("sqs").create_queue(
    QueueName="lab01-orders",
    Attributes={"VisibilityTimeout": "2", "ReceiveMessageWaitTimeSeconds": "1"})
print(f"ready: {queue.url}")
