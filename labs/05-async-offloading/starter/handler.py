"""lab05-compress: scan, gzip and store every upload that S3 announces through SQS."""

from __future__ import annotations

import gzip
import json
import os
import time
from urllib.parse import unquote_plus

import boto3

import scanner

PROCESSED = os.environ["PROCESSED_BUCKET"]  # deploy.py sets it: lab05-processed-<account id>
s3 = boto3.client("s3")


def handler(event: dict, context: object) -> dict:
    """One SQS batch (event["Records"]): each record's body is a message from S3."""
    for record in event["Records"]:
        body = json.loads(record["body"])
        # TODO: S3 sends one message that announces no object at all. Which one, and
        #       what should the function do with it?
        for s3_record in body["Records"]:
            bucket = s3_record["s3"]["bucket"]["name"]
            key = s3_record["s3"]["object"]["key"]  # TODO: is this the key as uploaded?
            process(bucket, key)
    # TODO: when one message of the batch fails, which ones does SQS deliver again?
    return {}


def process(bucket: str, key: str) -> None:
    _, upload_id, name = key.split("/", 2)  # incoming/<upload_id>/<name>
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    digest = scanner.scan(data)  # raises scanner.Rejected for files never to accept
    # TODO: a rejected upload is recorded as rejected/<upload_id>.json (with the reason)
    #       in the processed bucket, and never retried.
    # TODO: the same upload may be announced twice. Where must the result go so that a
    #       second pass creates no second object?
    s3.put_object(Bucket=PROCESSED, Key=f"done/{upload_id}-{time.time_ns()}.gz",
                  Body=gzip.compress(data), Metadata={"sha256": digest})
