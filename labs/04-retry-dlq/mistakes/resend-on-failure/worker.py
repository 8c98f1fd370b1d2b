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
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    print(f"worker {os.getpid()} polling {QUEUE}", flush=True)
    while True:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            try:
                order = json.loads(message["Body"])
                handle(order)
                print(f"processed {order['order']}", flush=True)
            except Exception as exc:
                # Retry: put it back at the end of the queue.
                print(f"failed {message['MessageId']}: {type(exc).__name__}: {exc}", flush=True)
                sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
            try:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            except ClientError as exc:
                print(f"delete failed: {exc}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
