"""Buckets, the queue S3 announces uploads on (with its DLQ), and the notification."""

from __future__ import annotations

import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab05-")
# Bucket names are global across all AWS accounts: yours end with your account id.
ACCOUNT = boto3.client("sts").get_caller_identity()["Account"]
UPLOADS = f"{PREFIX}uploads-{ACCOUNT}"
PROCESSED = f"{PREFIX}processed-{ACCOUNT}"
QUEUE = f"{PREFIX}upload-events"
VISIBILITY_TIMEOUT = 90  # >= 6 x the function timeout (15 s): AWS's recommendation


def ensure_bucket(s3, name: str) -> None:
    try:
        s3.create_bucket(Bucket=name)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass


def main() -> None:
    s3 = boto3.client("s3")
    sqs = boto3.client("sqs")
    ensure_bucket(s3, UPLOADS)
    ensure_bucket(s3, PROCESSED)

    # Attributes are set after creation: create_queue refuses an existing queue whose
    # attributes differ from the ones it is given, so a rerun over an earlier attempt works.
    dlq_url = sqs.create_queue(QueueName=f"{QUEUE}-dlq")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"MessageRetentionPeriod": "1209600"})
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    # Only S3, and only on behalf of the upload bucket, may send to this queue.
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "uploads-bucket-only", "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn,
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{UPLOADS}"}}}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
        "Policy": json.dumps(policy),
    })
    # Setting this makes S3 send one s3:TestEvent message to the queue at once.
    s3.put_bucket_notification_configuration(Bucket=UPLOADS, NotificationConfiguration={
        "QueueConfigurations": [{
            "Id": "uploads-to-queue", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}},
        }]})
    print("buckets", UPLOADS, PROCESSED, "queue", url)


if __name__ == "__main__":
    main()
