"""Application tier: fulfil a batch in order, then delete the confirmed part in one call."""

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


def fulfil(order: dict) -> bool:
    request = urllib.request.Request(
        f"{DOWNSTREAM_URL}/fulfil", data=json.dumps(order).encode(), method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": order["order_id"]})
    try:
        with urllib.request.urlopen(request, timeout=1.0) as response:
            return response.status == 200
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        print(f"not confirmed: {exc}", flush=True)
        return False


while True:
    confirmed = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", []):
        if not fulfil(json.loads(message["Body"])):
            time.sleep(0.5)  # downstream is in trouble: the rest waits in the queue
            break
        confirmed.append(message)
    if confirmed:
        result = sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(confirmed)])
        for failure in result.get("Failed", []):
            print(f"delete failed, it comes back (harmless: same key): {failure}", flush=True)
