"""A hurried first attempt: open policy, only Put events, a DLQ after one receive."""

import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab05-")
ACCOUNT = boto3.client("sts").get_caller_identity()["Account"]
UPLOADS = f"{PREFIX}uploads-{ACCOUNT}"
QUEUE = f"{PREFIX}upload-events"

s3, sqs = boto3.client("s3"), boto3.client("sqs")
for name in (UPLOADS, f"{PREFIX}processed-{ACCOUNT}"):
    s3.create_bucket(Bucket=name)
dlq = sqs.create_queue(QueueName=f"{QUEUE}-dlq")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
    "QueueArn"]
url = sqs.create_queue(QueueName=QUEUE, Attributes={"RedrivePolicy": json.dumps(
    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
    "QueueArn"]
sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                            "Action": "sqs:*", "Resource": arn}]})})
s3.put_bucket_notification_configuration(Bucket=UPLOADS, NotificationConfiguration={
    "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:Put"]}]})
print("first try done")
