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
    rows = []
    for message in messages:
        try:
            rows.append(db.parse(message["Body"]))
        except ValueError as exc:
            print(f"dropping {message['MessageId']}: {exc}", flush=True)
    done = messages  # invalid ones are useless anyway: delete the whole batch
    if not rows:
        return
    try:
        with conn:  # one transaction for the batch; OR IGNORE makes a redelivery harmless
            conn.executemany("INSERT OR IGNORE INTO jobs (job_id, customer, amount_cents) "
                             "VALUES (?, ?, ?)", rows)
    except sqlite3.Error as exc:
        # Rolled back: delete nothing, so the whole batch comes back and is written then.
        print(f"write failed, the batch will come back: {exc}", flush=True)
        return
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
    for _ in range(3):  # a bounded retry of the entries SQS reports as failed
        response = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        failed = {f["Id"] for f in response.get("Failed", [])}
        if not failed:
            return
        print(f"delete failed for {len(failed)} entries, retrying", flush=True)
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
