"""Step 1 with boto3's resource API: attributes at creation, the four ObjectCreated kinds."""

import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab05-")
ACCOUNT = boto3.client("sts").get_caller_identity()["Account"]
UPLOADS = f"{PREFIX}uploads-{ACCOUNT}"
QUEUE = f"{PREFIX}upload-events"

s3 = boto3.resource("s3")
sqs = boto3.resource("sqs")
for name in (UPLOADS, f"{PREFIX}processed-{ACCOUNT}"):
    s3.Bucket(name).create()
dlq = sqs.create_queue(QueueName=f"{QUEUE}-dlq")
region = boto3.session.Session().region_name or "us-east-1"
arn = f"arn:aws:sqs:{region}:{ACCOUNT}:{QUEUE}"
queue = sqs.create_queue(QueueName=QUEUE, Attributes={
    "VisibilityTimeout": "120",
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.attributes["QueueArn"],
                                 "maxReceiveCount": 4}),
    "Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "S3Notifications", "Effect": "Allow", "Principal": "*",
        "Action": "sqs:SendMessage", "Resource": arn,
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{UPLOADS}"},
                      "StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}),
})
s3.BucketNotification(UPLOADS).put(NotificationConfiguration={"QueueConfigurations": [{
    "QueueArn": queue.attributes["QueueArn"],
    "Events": ["s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
               "s3:ObjectCreated:CompleteMultipartUpload"],
    "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "incoming/"}]}}}]})
print("ready", queue.url)
