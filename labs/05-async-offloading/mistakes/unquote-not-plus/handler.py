"""lab05-compress with boto3's resource API; a failed write is retried here, twice."""

import gzip
import json
import os
import time
from urllib.parse import unquote as unquote_plus

import boto3
import scanner

results = boto3.resource("s3").Bucket(os.environ["PROCESSED_BUCKET"])
uploads = boto3.resource("s3")


def put(key, body, **extra):
    for attempt in range(3):
        try:
            return results.Object(key).put(Body=body, **extra)
        except Exception:
            if attempt == 2:
                raise
            time.sleep(0.2 * (attempt + 1))


def handler(event, context):
    failed = []
    for record in event["Records"]:
        try:
            body = json.loads(record["body"])
            for item in body.get("Records", []):  # the s3:TestEvent has none
                key = unquote_plus(item["s3"]["object"]["key"])
                upload_id = key.split("/")[1]
                data = uploads.Object(item["s3"]["bucket"]["name"], key).get()["Body"].read()
                try:
                    scanner.scan(data)
                except scanner.Rejected as exc:
                    put(f"rejected/{upload_id}.json", json.dumps({"reason": str(exc)}))
                    continue
                put(f"done/{upload_id}.gz", gzip.compress(data, mtime=0))
        except Exception as exc:
            print("failed", record["messageId"], repr(exc))
            failed.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failed}
