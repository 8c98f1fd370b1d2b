"""The login service: at 9:00 everybody logs in. Sends a burst of login events to the queue.

Usage: python login_service.py [COUNT]   (the checks send their own burst; this is for you)
"""

import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3

sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName="lab02-logins")["QueueUrl"]
count = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
run = uuid.uuid4().hex[:6]
events = [json.dumps({"event_id": f"e-{run}-{i}", "user": f"u{i % 977}",
                      "ip": f"10.0.{i % 250}.{i % 200}", "at": time.time()})
          for i in range(count)]


def send(start: int) -> None:
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": body} for i, body in enumerate(events[start:start + 10])])


began = time.monotonic()
with ThreadPoolExecutor(max_workers=8) as pool:
    list(pool.map(send, range(0, count, 10)))
seconds = time.monotonic() - began
print(f"sent {count} login events in {seconds:.1f} s ({count / seconds:.0f}/s), run {run}")
