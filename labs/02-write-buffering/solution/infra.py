"""Create the queue that buffers login events. Run it after each change (safe to rerun)."""

import boto3

sqs = boto3.client("sqs")

url = sqs.create_queue(QueueName="lab02-logins")["QueueUrl"]
sqs.set_queue_attributes(QueueUrl=url, Attributes={
    # A batch is collected, waits for its turn and is written before it is deleted: that
    # takes well under a second here; 10 s (5 minutes in production) leaves a wide margin,
    # and a crashed writer's batch comes back soon. The lab allows 10 to 30 s.
    "VisibilityTimeout": "10",
    # Long polling: an idle writer waits for new logins instead of hammering the queue.
    "ReceiveMessageWaitTimeSeconds": "2",
})
print(f"lab02-logins: {url}")
