"""Move the messages of the DLQ back to the source queue, once the worker is fixed."""

import boto3

sqs = boto3.client("sqs")

DLQ = "lab04-orders-dlq"

# TODO (step 4): start a message move task from the DLQ back to where its messages came
# from, then wait (a bounded number of times) until the task is no longer RUNNING.
# Which API moves messages out of a DLQ, and which ARN does it need?
print("redrive.py does nothing yet")
