"""SQS worker: one of a consumer group sharing lab11-orders.

    python sqs_worker.py          # start two of them: they share the queue

Each message goes to ONE worker of the group. A worker handles the event (one line in
sqs-handled.jsonl), then deletes the message: SQS keeps nothing that was deleted.
"""

import json
import os
import time
from pathlib import Path

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")
LEDGER = Path(os.environ.get("TUTOR_LAB_WORKSPACE", ".")) / "sqs-handled.jsonl"

sqs = boto3.client("sqs")


def handle(event: dict) -> None:
    """The business work: record the event (the checks read this file)."""
    with LEDGER.open("a") as ledger:
        ledger.write(json.dumps({"event_id": event["event_id"], "order_id": event["order_id"],
                                 "seq": event["seq"], "pid": os.getpid(),
                                 "t": time.time()}) + "\n")


def main() -> None:
    url = sqs.get_queue_url(QueueName=f"{PREFIX}orders")["QueueUrl"]
    while True:
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
        for message in reply.get("Messages", []):
            handle(json.loads(message["Body"]))
            # Only after the event was handled: a crash before this line means SQS
            # delivers the message again after the visibility timeout.
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


if __name__ == "__main__":
    main()
