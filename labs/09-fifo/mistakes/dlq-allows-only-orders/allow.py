import json
import os

import boto3

prefix = os.environ.get("TUTOR_LAB_PREFIX", "lab09-")
sqs = boto3.client("sqs")
dlq = sqs.get_queue_url(QueueName=f"{prefix}orders-dlq.fifo")["QueueUrl"]
orders = sqs.get_queue_url(QueueName=f"{prefix}orders.fifo")["QueueUrl"]
source = sqs.get_queue_attributes(QueueUrl=orders, AttributeNames=["QueueArn"])[
    "Attributes"]["QueueArn"]
sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(
    {"redrivePermission": "byQueue", "sourceQueueArns": [source]})})
