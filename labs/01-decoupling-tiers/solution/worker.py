"""The application tier: takes orders from `lab01-orders` and has the fulfilment service
(downstream) fulfil them, at its own pace.

Run by the lab as `python worker.py` (until stopped) with DOWNSTREAM_URL in the environment.
"""

import json
import os
import time
import urllib.error
import urllib.request

import boto3
from botocore.exceptions import ClientError

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab01-")
DOWNSTREAM_URL = os.environ.get("DOWNSTREAM_URL", "http://127.0.0.1:8702")
DOWNSTREAM_TIMEOUT = 1.0  # lab clock: 1 s here stands for 10 s in production

sqs = boto3.client("sqs")


def fulfil(body: str) -> bool:
    """Ask downstream to fulfil one order.v1 message; True when it confirmed."""
    # The order id is the idempotency key: a redelivered message (after a timeout, a
    # crash, a slow downstream) is recognised downstream and fulfilled only once.
    order_id = json.loads(body)["order_id"]
    request = urllib.request.Request(
        f"{DOWNSTREAM_URL}/fulfil", data=body.encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": order_id},
        method="POST")
    try:
        with urllib.request.urlopen(request, timeout=DOWNSTREAM_TIMEOUT) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        print(f"downstream failed: {exc}", flush=True)
        return False


def main() -> None:
    url = sqs.get_queue_url(QueueName=f"{PREFIX}orders")["QueueUrl"]
    while True:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            if not fulfil(message["Body"]):
                # Not deleted: SQS makes it visible again after the visibility timeout.
                # Downstream is probably down, so the rest of the batch would fail too:
                # leave it, pause, and let the queue hold the backlog.
                time.sleep(0.5)
                break
            try:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            except ClientError as exc:  # receipt expired: the message comes back,
                print(f"delete failed: {exc}", flush=True)  # and the key makes it harmless


if __name__ == "__main__":
    main()
