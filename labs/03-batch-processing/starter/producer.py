"""Put a backlog of jobs (and a few invalid ones) into lab03-jobs, to watch a worker by hand.

Usage: python producer.py [COUNT]
"""

import json
import sys
import uuid

import boto3

sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName="lab03-jobs")["QueueUrl"]
count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
run = uuid.uuid4().hex[:6]
bodies = [json.dumps({"job": f"j-{run}-{i}", "customer": f"c{i % 7}", "amount_cents": 100 + i})
          for i in range(count)]
bodies += [json.dumps({"job": f"j-{run}-bad", "customer": "c0", "amount_cents": "n/a"})]
for start in range(0, len(bodies), 10):
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start:start + 10])])
print(f"sent {count} jobs and 1 invalid one (run {run})")
