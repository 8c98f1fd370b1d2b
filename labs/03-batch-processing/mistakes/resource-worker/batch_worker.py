"""The batch worker, written with the boto3 resource API."""

import sqlite3

import boto3

import db

queue = boto3.resource("sqs").get_queue_by_name(QueueName="lab03-jobs")
conn = db.connect()


def handle_batch(messages: list) -> None:
    rows, done = [], []
    for message in messages:
        try:
            rows.append(db.parse(message.body))
            done.append(message)
        except ValueError as exc:
            print(f"skipping {message.message_id}: {exc}", flush=True)
    if not done:
        return
    try:
        with conn:  # REPLACE: writing the same job again leaves one row
            conn.executemany("INSERT OR REPLACE INTO jobs (job_id, customer, amount_cents) "
                             "VALUES (?, ?, ?)", rows)
    except sqlite3.Error as exc:
        print(f"write failed: {exc}", flush=True)
        return
    pending = {str(i): m.receipt_handle for i, m in enumerate(done)}
    for _ in range(3):
        response = queue.delete_messages(Entries=[
            {"Id": key, "ReceiptHandle": handle} for key, handle in pending.items()])
        pending = {f["Id"]: pending[f["Id"]] for f in response.get("Failed", [])}
        if not pending:
            return


while True:
    batch = queue.receive_messages(MaxNumberOfMessages=10, WaitTimeSeconds=1)
    if batch:
        handle_batch(batch)
