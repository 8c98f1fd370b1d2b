"""Infrastructure for lab 07: the jobs queue and the backlog alarms. Run `python infra.py`.

Safe to run again after each edit: create_queue and put_metric_alarm update in place.
"""

import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab07-")
QUEUE = f"{PREFIX}jobs"

sqs = boto3.client("sqs")
cloudwatch = boto3.client("cloudwatch")

# Step 1 — the queue.
# TODO: set the attributes the consumer fleet needs:
#   - a visibility timeout longer than one batch takes (10 jobs x 0.05 s), yet short
#     enough that jobs held by a consumer that disappears come back within the
#     acceptable latency (10 s on the lab clock);
#   - long polling, so that idle consumers do not hammer the queue with empty receives.
url = sqs.create_queue(QueueName=QUEUE, Attributes={})["QueueUrl"]
print(f"queue {QUEUE}: {url}")

# Step 2 — the backlog alarm.
# TODO: create the alarm `lab07-backlog-high` with cloudwatch.put_metric_alarm: it must
# watch the SQS metric of the number of messages waiting in lab07-jobs (namespace,
# metric name and the dimension that names the queue), over one 10 s period, and go to
# ALARM when the backlog is larger than what one consumer clears within the latency target.
#
# (Only if you choose step scaling in step 3: also create `lab07-backlog-low`, the alarm
# that says "the backlog is (almost) gone".)
