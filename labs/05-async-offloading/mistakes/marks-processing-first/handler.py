"""lab05-compress: scan, gzip and store every upload that S3 announces through SQS."""

from __future__ import annotations

import gzip
import json
import os
from urllib.parse import unquote_plus

import boto3
import scanner

PROCESSED = os.environ["PROCESSED_BUCKET"]  # deploy.py sets it: lab05-processed-<account id>
s3 = boto3.client("s3")  # created once per execution environment, reused by invocations


def handler(event: dict, context: object) -> dict:
    """One SQS batch. Report only the messages that failed: the others are deleted."""
    failures = []
    for record in event["Records"]:
        try:
            handle_message(json.loads(record["body"]))
        except Exception as exc:  # a transient failure: SQS redelivers this message only
            print(f"[ERROR] message {record['messageId']}: {exc!r}")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def handle_message(body: dict) -> None:
    # S3 checks that it may write to the queue by sending this once, when the
    # notification is configured. It announces no object: acknowledge it and move on.
    if body.get("Event") == "s3:TestEvent":
        print(f"skipped s3:TestEvent for bucket {body.get('Bucket')}")
        return
    for record in body.get("Records", []):
        if not record.get("eventName", "").startswith("ObjectCreated"):
            continue
        bucket = record["s3"]["bucket"]["name"]
        # Keys arrive URL-encoded ("my+report%2Bv2.txt"): decode before using them.
        process(bucket, unquote_plus(record["s3"]["object"]["key"]))


def _exists(key: str) -> bool:
    try:
        s3.head_object(Bucket=PROCESSED, Key=key)
    except s3.exceptions.ClientError:
        return False
    return True


def process(bucket: str, key: str) -> None:
    _, upload_id, name = key.split("/", 2)  # incoming/<upload_id>/<name>
    done, rejected = f"done/{upload_id}.gz", f"rejected/{upload_id}.json"
    # S3 notifications and SQS are at-least-once: the same upload may come twice.
    # The result key depends only on the upload, so a second pass changes nothing.
    marker = f"processing/{upload_id}"
    if _exists(marker):  # "someone has it already": skip duplicates
        print(f"already processed {upload_id}")
        return
    s3.put_object(Bucket=PROCESSED, Key=marker, Body=b"")
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        digest = scanner.scan(data)
    except scanner.Rejected as exc:  # permanent: record why, never retry
        s3.put_object(Bucket=PROCESSED, Key=rejected,
                      Body=json.dumps({"upload_id": upload_id, "name": name,
                                       "reason": str(exc)}))
        print(f"rejected {upload_id}: {exc}")
        return
    s3.put_object(Bucket=PROCESSED, Key=done, Body=gzip.compress(data, mtime=0),
                  ContentEncoding="gzip", ContentType="text/plain; charset=utf-8",
                  Metadata={"original-name": name, "sha256": digest,
                            "original-size": str(len(data))})
    print(f"stored {upload_id} {len(data)} bytes")
