"""Login writer with boto3.resource: each receive of up to 10 messages is one transaction."""

import sqlite3
import time

import boto3

import db

queue = boto3.resource("sqs").get_queue_by_name(QueueName="lab02-logins")
conn = db.connect()
conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS logins_event_id ON logins (event_id)")
PER_ROW = 1 / 250  # seconds of budget each row uses

while True:
    messages = queue.receive_messages(MaxNumberOfMessages=10, WaitTimeSeconds=2)
    if not messages:
        continue
    began = time.monotonic()
    try:
        with conn:
            conn.executemany("INSERT OR IGNORE INTO logins (event_id, user_id, ip, at) "
                             "VALUES (?, ?, ?, ?)", [db.row(m.body) for m in messages])
    except sqlite3.Error as exc:
        print(f"not written, will come back: {exc}")
        continue
    queue.delete_messages(Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle}
                                   for i, m in enumerate(messages)])
    time.sleep(max(0.0, len(messages) * PER_ROW - (time.monotonic() - began)))
