"""SQS worker that deletes first "so that no other worker gets the message"."""

import json
import os
import time
from pathlib import Path

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")
LEDGER = Path(os.environ.get("TUTOR_LAB_WORKSPACE", ".")) / "sqs-handled.jsonl"

sqs = boto3.client("sqs")


def handle(event: dict) -> None:
    with LEDGER.open("a") as ledger:
        ledger.write(json.dumps({"event_id": event["event_id"], "order_id": event["order_id"],
                                 "seq": event["seq"], "pid": os.getpid(),
                                 "t": time.time()}) + "\n")


def main() -> None:
    url = sqs.get_queue_url(QueueName=f"{PREFIX}orders")["QueueUrl"]
    while True:
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
        for message in reply.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            handle(json.loads(message["Body"]))


if __name__ == "__main__":
    main()
