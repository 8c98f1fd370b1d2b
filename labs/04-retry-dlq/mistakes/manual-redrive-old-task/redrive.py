"""Move the DLQ's messages back by hand: receive, send to the source queue, delete."""

import boto3

sqs = boto3.client("sqs")
dlq = sqs.get_queue_url(QueueName="lab04-orders-dlq")["QueueUrl"]
source = sqs.get_queue_url(QueueName="lab04-orders")["QueueUrl"]
for _ in range(20):
    messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=0).get("Messages", [])
    if not messages:
        break
    for message in messages:
        sqs.send_message(QueueUrl=source, MessageBody=message["Body"])
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
print("moved")
