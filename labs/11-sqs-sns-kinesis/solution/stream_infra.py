"""Step 3: the Kinesis data stream of lab 11 (idempotent)."""

import os
import time

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")
STREAM = f"{PREFIX}orders"
SHARDS = 2  # provisioned capacity: each shard takes 1 MB/s or 1,000 records/s in

kinesis = boto3.client("kinesis")


def status() -> str:
    try:
        return kinesis.describe_stream_summary(StreamName=STREAM)[
            "StreamDescriptionSummary"]["StreamStatus"]
    except kinesis.exceptions.ResourceNotFoundException:
        return "ABSENT"


deadline = time.monotonic() + 60
while status() == "DELETING" and time.monotonic() < deadline:
    time.sleep(0.5)  # a stream deleted a moment ago (a reset) must be gone first
if status() == "ABSENT":
    kinesis.create_stream(StreamName=STREAM, ShardCount=SHARDS,
                          StreamModeDetails={"StreamMode": "PROVISIONED"})
while status() != "ACTIVE" and time.monotonic() < deadline:
    time.sleep(0.5)  # CREATING: puts and reads are refused until the stream is ACTIVE
print(f"ready: {STREAM} ({status()})")
