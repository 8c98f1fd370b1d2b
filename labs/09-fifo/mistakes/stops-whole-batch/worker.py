"""Fulfilment worker: consumes lab09-orders.fifo and processes each order event.

Run by the lab until it is stopped. Every processed event is appended to
processed.jsonl in the workspace, which the checks read.
"""

import json
import os
import time
from pathlib import Path

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab09-")
LOG = Path(os.environ.get("TUTOR_LAB_WORKSPACE", ".")) / "processed.jsonl"

sqs = boto3.client("sqs")


class PaymentDeclined(Exception):
    pass


def process(event: dict) -> None:
    """The business work: 20 ms per event; a declined payment cannot be processed."""
    time.sleep(0.02)
    if event.get("poison"):
        raise PaymentDeclined(event["event_id"])
    with LOG.open("a") as log:
        log.write(json.dumps({"event_id": event["event_id"], "order_id": event["order_id"],
                              "seq": event["seq"], "t": time.time()}) + "\n")


def already_processed() -> set[str]:
    """Event ids in processed.jsonl: what an earlier run of this worker finished."""
    done = set()
    if LOG.exists():
        for line in LOG.read_text().splitlines():
            try:
                done.add(json.loads(line)["event_id"])
            except (ValueError, KeyError):
                continue  # a line cut short by a crash
    return done


def main() -> None:
    url = sqs.get_queue_url(QueueName=f"{PREFIX}orders.fifo")["QueueUrl"]
    done = already_processed()
    while True:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            event = json.loads(message["Body"])
            if event["event_id"] not in done:
                try:
                    process(event)
                except PaymentDeclined as exc:
                    print(f"declined: {exc}; the rest of the batch waits", flush=True)
                    break  # nothing after a failure is processed: order kept
                done.add(event["event_id"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


if __name__ == "__main__":
    main()
