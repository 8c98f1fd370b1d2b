"""The batch worker: drains lab03-jobs into the jobs database, ten messages at a time.

Run it with `python batch_worker.py` (Ctrl-C stops it). The checks run it on a backlog and
count its API calls and database transactions against one_at_a_time.py.
"""

import sqlite3

import boto3

import db

sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName="lab03-jobs")["QueueUrl"]
conn = db.connect()


def handle_batch(messages: list[dict]) -> None:
    """Write the valid jobs of a batch to the database, then delete them from the queue."""
    rows, done = [], []
    for message in messages:
        try:
            rows.append(db.parse(message["Body"]))
            done.append(message)
        except ValueError as exc:
            # Left in the queue: visible again after the visibility timeout, retried, and
            # moved to lab03-jobs-dlq after maxReceiveCount receives.
            print(f"skipping {message['MessageId']}: {exc}", flush=True)
    if not done:
        return
    try:
        with conn:  # one transaction for the batch; OR IGNORE makes a redelivery harmless
            conn.executemany("INSERT OR IGNORE INTO jobs (job_id, customer, amount_cents) "
                             "VALUES (?, ?, ?)", rows)
    except sqlite3.Error as exc:
        # Rolled back: delete nothing, so the whole batch comes back and is written then.
        print(f"write failed, the batch will come back: {exc}", flush=True)
        return
    for message in done:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def main() -> None:
    while True:
        # Up to 10 per call; no WaitTimeSeconds: the queue's long polling (2 s) applies.
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        messages = response.get("Messages", [])
        if messages:
            handle_batch(messages)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
