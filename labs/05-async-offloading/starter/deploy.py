"""Deploy the function lab05-compress and connect it to the queue (safe to run again)."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab05-")
FUNCTION = f"{PREFIX}compress"
ROLE = f"{PREFIX}compress-role"
QUEUE = f"{PREFIX}upload-events"
# Bucket names are global across all AWS accounts: yours end with your account id.
ACCOUNT = boto3.client("sts").get_caller_identity()["Account"]
UPLOADS = f"{PREFIX}uploads-{ACCOUNT}"
PROCESSED = f"{PREFIX}processed-{ACCOUNT}"
TIMEOUT = 15  # seconds
HERE = Path(__file__).resolve().parent
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


def package() -> bytes:
    """The deployment package, built in memory: the handler and the scanner it imports."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("handler.py", "scanner.py"):
            archive.write(HERE / name, name)
    return buffer.getvalue()


def main() -> None:
    sqs = boto3.client("sqs")
    lam = boto3.client("lambda")
    iam = boto3.client("iam")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    # TODO: the role ROLE (TRUST) with a policy: receive/delete on the queue, read the
    #       uploads, write the results, write logs.
    # TODO: create the function FUNCTION (python3.12, handler.handler, TIMEOUT, the
    #       environment variable PROCESSED_BUCKET) from package(), or update it when it
    #       exists; wait until it is Active.
    # TODO: an event source mapping from the queue to the function (BatchSize 5) that
    #       lets the handler report which messages failed; wait until it is Enabled.
    print("TODO: deploy", FUNCTION, "from", queue_arn, iam, lam, json.dumps(TRUST),
          len(package()), "bytes")


if __name__ == "__main__":
    main()
