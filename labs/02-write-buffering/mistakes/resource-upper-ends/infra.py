"""Create the queue that buffers login events (with boto3.resource, attributes at creation)."""

import boto3

queue = boto3.resource("sqs").create_queue(QueueName="lab02-logins", Attributes={
    "VisibilityTimeout": "30",
    "ReceiveMessageWaitTimeSeconds": "20",
})
print(f"lab02-logins: {queue.url}")
