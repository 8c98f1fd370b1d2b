"""The learner's second attempt: the queue exists already, so set its attributes."""

import boto3

sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName="lab02-logins")["QueueUrl"]
sqs.set_queue_attributes(QueueUrl=url, Attributes={
    "VisibilityTimeout": "15",
    "ReceiveMessageWaitTimeSeconds": "5",
})
print(f"lab02-logins: {url}")
