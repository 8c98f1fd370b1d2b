"""The application tier: takes orders from `lab01-orders` and has the fulfilment service
(downstream) fulfil them, at its own pace.

Run by the lab as `python worker.py` (until stopped) with DOWNSTREAM_URL in the environment.
"""

import os
import time
import urllib.error
import urllib.request

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab01-")
DOWNSTREAM_URL = os.environ.get("DOWNSTREAM_URL", "http://127.0.0.1:8702")
DOWNSTREAM_TIMEOUT = 1.0  # lab clock: 1 s here stands for 10 s in production

sqs = boto3.client("sqs")


def fulfil(body: str) -> bool:
    """Ask downstream to fulfil one order.v1 message; True when it confirmed."""
    # TODO: if this call times out, downstream may still have done the work. When SQS
    #       delivers the message again, how does downstream know it is the same order?
    #       (Read downstream.py: which header does it honour, and what is a good key?)
    request = urllib.request.Request(
        f"{DOWNSTREAM_URL}/fulfil", data=body.encode(),
        headers={"Content-Type": "application/json"}, method="POST")
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
            # TODO: this deletes the message whatever happened downstream. Which orders
            #       are lost while downstream is down? Delete only what downstream
            #       confirmed; what does SQS do with the others?
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            fulfil(message["Body"])
        # TODO (optional): when downstream is down, every call fails at once. Would a
        #       short pause help downstream recover (and save ReceiveMessage calls)?
        _ = time


if __name__ == "__main__":
    main()
