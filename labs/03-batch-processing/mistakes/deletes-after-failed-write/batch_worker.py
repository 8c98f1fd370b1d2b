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
            print(f"skipping {message['MessageId']}: {exc}", flush=True)
    if not done:
        return
    try:
        with conn:
            conn.executemany("INSERT OR IGNORE INTO jobs (job_id, customer, amount_cents) "
                             "VALUES (?, ?, ?)", rows)
    except sqlite3.Error as exc:
        print(f"write failed: {exc}", flush=True)  # logged; the worker keeps going
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
    for _ in range(3):
        response = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        failed = {f["Id"] for f in response.get("Failed", [])}
        if not failed:
            return
        entries = [e for e in entries if e["Id"] in failed]


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
