"""Order worker: takes orders from lab04-orders, charges them, records them in processed.jsonl.

Run it with `python worker.py` (Ctrl-C stops it). The lab's checks start two of these.
"""

import json
import os
import time
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

QUEUE = "lab04-orders"
# The lab clock: 2 s of work here stands for about 2 minutes of real work in production.
PROCESSING_SECONDS = 2.0
LEDGER = Path(__file__).with_name("processed.jsonl")


def record(order: dict) -> None:
    """Write the order to the ledger: the 'database' the checks read."""
    line = json.dumps({"order": order["order"], "quantity": order["quantity"],
                       "pid": os.getpid(), "at": time.time()})
    with LEDGER.open("a") as ledger:
        ledger.write(line + "\n")


def handle(order: dict) -> None:
    """Charge one order; raises when the order cannot be processed."""
    # The mobile app sends "quantity" as a string ("3"); int() accepts both forms and
    # still rejects garbage ("three" raises ValueError, and the message goes to the DLQ).
    quantity = int(order["quantity"])
    if quantity <= 0:
        raise ValueError(f"order {order['order']} has no items")
    time.sleep(PROCESSING_SECONDS)  # charging the card, reserving stock...
    record(order)


def main() -> None:
    queue = boto3.resource("sqs").get_queue_by_name(QueueName=QUEUE)
    print(f"worker {os.getpid()} polling {QUEUE}", flush=True)
    while True:
        for message in queue.receive_messages(MaxNumberOfMessages=1, WaitTimeSeconds=1):
            try:
                order = json.loads(message.body)
                handle(order)
            except Exception as exc:
                print(f"failed {message.message_id}: {type(exc).__name__}: {exc}", flush=True)
                continue  # SQS retries it, then dead-letters it
            print(f"processed {order['order']}", flush=True)
            try:
                message.delete()
            except ClientError as exc:
                print(f"delete failed: {exc}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
