"""The old worker, for comparison: one message per call, short polling, one row per commit.

Provided complete: the checks run it on the same backlog as your batch_worker.py and compare
the API calls both make. Run it yourself with `python one_at_a_time.py` (Ctrl-C stops it).
"""

import time

import boto3

import db

sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName="lab03-jobs")["QueueUrl"]
conn = db.connect()
while True:
    # WaitTimeSeconds=0: short polling, whatever the queue's default says.
    response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0)
    messages = response.get("Messages", [])
    if not messages:
        time.sleep(0.05)  # a polite pause; many real short-polling loops have none
        continue
    message = messages[0]
    try:
        row = db.parse(message["Body"])
    except ValueError as exc:
        print(f"skipping: {exc}", flush=True)
        continue  # not deleted: retried, then dead-lettered
    with conn:
        conn.execute("INSERT OR IGNORE INTO jobs (job_id, customer, amount_cents) "
                     "VALUES (?, ?, ?)", row)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
