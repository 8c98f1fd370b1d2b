"""Step 4 with boto3.resource, console style: the owner keeps full access, SNS may send
only for the topic (no Resource: the queue the policy is on; "SQS:SendMessage" and
"AWS:SourceArn" spelled as the console writes them), and plain HTTP is denied."""

import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab08-")
sqs = boto3.resource("sqs")
account = boto3.client("sts").get_caller_identity()["Account"]
region = boto3.session.Session().region_name
topic_arn = f"arn:aws:sns:{region}:{account}:{PREFIX}orders"

for consumer in ("billing", "shipping", "audit"):
    queue = sqs.get_queue_by_name(QueueName=f"{PREFIX}{consumer}")
    queue.set_attributes(Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Id": "__default_policy_ID",
        "Statement": [
            {"Sid": "__owner_statement", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
             "Action": "SQS:*", "Resource": queue.attributes["QueueArn"]},
            {"Sid": "topic-subscription", "Effect": "Allow",
             "Principal": {"Service": "sns.amazonaws.com"},
             "Action": "SQS:SendMessage",
             "Condition": {"ArnEquals": {"AWS:SourceArn": topic_arn},
                           "StringEquals": {"aws:SourceAccount": account}}},
            {"Sid": "https-only", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
             "Resource": queue.attributes["QueueArn"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ]})})
    print("policy set on", queue.url)
