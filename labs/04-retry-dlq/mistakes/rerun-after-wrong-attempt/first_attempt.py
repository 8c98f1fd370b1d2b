"""The learner's first try: the wrong values, which a rerun of infra.py must replace."""

import json

import boto3

sqs = boto3.client("sqs")
dlq = sqs.create_queue(QueueName="lab04-orders-dlq",
                       Attributes={"MessageRetentionPeriod": "3600"})["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
    "Attributes"]["QueueArn"]
sqs.create_queue(QueueName="lab04-orders", Attributes={
    "VisibilityTimeout": "1",
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})
sqs.set_queue_attributes(QueueUrl=dlq, Attributes={
    "RedriveAllowPolicy": json.dumps({"redrivePermission": "allowAll"})})
