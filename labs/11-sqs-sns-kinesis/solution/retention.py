"""Step 5: keep a week of order events in lab11-orders, the window a replay can reach."""

import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")
STREAM = f"{PREFIX}orders"
HOURS = 168  # 7 days; the default is 24 h, the maximum 8,760 h (365 days)

kinesis = boto3.client("kinesis")

now = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"][
    "RetentionPeriodHours"]
if now < HOURS:
    kinesis.increase_stream_retention_period(StreamName=STREAM, RetentionPeriodHours=HOURS)
elif now > HOURS:
    kinesis.decrease_stream_retention_period(StreamName=STREAM, RetentionPeriodHours=HOURS)
print(f"{STREAM}: retention {HOURS} h (was {now} h)")
