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
VISIBILITY_TIMEOUT = 30  # TODO: how does this relate to the function's timeout?


def main() -> None:
    s3 = boto3.client("s3")
    sqs = boto3.client("sqs")
    # TODO: the buckets UPLOADS (raw files) and PROCESSED (results); running twice must work.

    # TODO: the queue QUEUE with VISIBILITY_TIMEOUT and a dead-letter queue f"{QUEUE}-dlq"
    #       (maxReceiveCount 3).

    # TODO: a queue policy that lets S3 send messages to QUEUE, but only for the bucket
    #       UPLOADS.

    # TODO: a notification on UPLOADS: every object created under `incoming/` is announced
    #       on QUEUE.
    print("TODO", UPLOADS, PROCESSED, QUEUE, json.dumps({}), s3, sqs)


if __name__ == "__main__":
    main()
