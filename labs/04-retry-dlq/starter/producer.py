"""Send a few orders (and one poison message) to lab04-orders, to watch the worker by hand.

Usage: python producer.py [COUNT]   (the checks send their own messages; this is for you)
"""

import json
import sys
import uuid

import boto3

sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName="lab04-orders")["QueueUrl"]
count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
run = uuid.uuid4().hex[:6]
for i in range(count):
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"order": f"o-{run}-{i}",
                                                           "quantity": 1 + i % 3}))
# A poison message: truncated JSON that no worker can ever process.
sqs.send_message(QueueUrl=url, MessageBody='{"order": "o-%s-poison", "quantity": ' % run)
# An order from the new mobile app: quantity as a string.
sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"order": f"o-{run}-app",
                                                       "quantity": "2"}))
print(f"sent {count} orders, 1 poison message and 1 mobile-app order (run {run})")
