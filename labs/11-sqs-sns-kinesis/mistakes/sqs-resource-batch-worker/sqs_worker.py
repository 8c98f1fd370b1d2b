"""SQS worker written with boto3.resource: handle the batch, then delete it in one call."""

import json
import os
import time
from pathlib import Path

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")
LEDGER = Path(os.environ.get("TUTOR_LAB_WORKSPACE", ".")) / "sqs-handled.jsonl"

queue = boto3.resource("sqs").get_queue_by_name(QueueName=f"{PREFIX}orders")


def handle(event: dict) -> None:
    with LEDGER.open("a") as ledger:
        ledger.write(json.dumps({"event_id": event["event_id"], "order_id": event["order_id"],
                                 "seq": event["seq"], "pid": os.getpid(),
                                 "t": time.time()}) + "\n")


while True:
    messages = queue.receive_messages(MaxNumberOfMessages=10, WaitTimeSeconds=1)
    for message in messages:
        handle(json.loads(message.body))
    if messages:
        reply = queue.delete_messages(Entries=[
            {"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(messages)])
        # What did not delete comes back after the visibility timeout; it is handled again
        # then, so say so (none should fail here).
        for failure in reply.get("Failed", []):
            print("not deleted:", failure)
