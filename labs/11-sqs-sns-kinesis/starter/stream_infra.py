"""Step 3: the Kinesis data stream of lab 11 (keep it idempotent)."""

import os
import time  # (a new stream is CREATING for a moment)

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")
STREAM = f"{PREFIX}orders"

kinesis = boto3.client("kinesis")

# TODO (step 3): create the stream `lab11-orders` in provisioned mode with 2 or more
# shards, and wait until it is ACTIVE.
print("nothing created yet: see the TODO in stream_infra.py")
