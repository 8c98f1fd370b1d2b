"""Step 5: keep a week of order events in lab11-orders, the window a replay can reach."""

import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")
STREAM = f"{PREFIX}orders"

kinesis = boto3.client("kinesis")

# TODO (step 5): set the retention period of the stream to 7 days. Running this script
# twice must work too.
print("nothing changed yet: see the TODO in retention.py")
