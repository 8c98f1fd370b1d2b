"""Application tier: take the message, then fulfil it; a failure goes back on the queue."""

import json
import os
import time
import urllib.error
import urllib.request

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab01-")
DOWNSTREAM_URL = os.environ.get("DOWNSTREAM_URL", "http://127.0.0.1:8702")

sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName=f"{PREFIX}orders")["QueueUrl"]


def fulfil(body: str) -> bool:
    request = urllib.request.Request(
        f"{DOWNSTREAM_URL}/fulfil", data=body.encode(), method="POST",
        headers={"Content-Type": "application/json",
                 "Idempotency-Key": json.loads(body)["order_id"]})
    try:
        with urllib.request.urlopen(request, timeout=1.0) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, TimeoutError, OSError):
        return False


while True:
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", []):
        # Take it off the queue so no other worker gets it; put it back if it fails.
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if not fulfil(message["Body"]):
            sqs.send_message(QueueUrl=url, MessageBody=message["Body"], DelaySeconds=1)
            time.sleep(0.5)
