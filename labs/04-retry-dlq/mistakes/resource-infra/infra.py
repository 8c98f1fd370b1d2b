"""Create the lab's queues with the resource API."""

import json

import boto3

sqs = boto3.resource("sqs")


def ensure(name: str, attributes: dict[str, str]):
    queue = sqs.create_queue(QueueName=name)
    if attributes:
        queue.set_attributes(Attributes=attributes)
    queue.reload()
    return queue


dlq = ensure("lab04-orders-dlq", {"MessageRetentionPeriod": "1209600"})
orders = ensure("lab04-orders", {
    "VisibilityTimeout": "6",
    "MessageRetentionPeriod": "345600",
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.attributes["QueueArn"],
                                 "maxReceiveCount": 5}),
})
dlq.set_attributes(Attributes={"RedriveAllowPolicy": json.dumps({
    "redrivePermission": "byQueue", "sourceQueueArns": [orders.attributes["QueueArn"]]})})
print(orders.url, dlq.url)
