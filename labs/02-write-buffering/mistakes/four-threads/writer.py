"""Four writer threads, each with its own connection, paced together."""

import sqlite3
import threading
import time

import boto3

import db

THREADS = 4
RATE = db.MAX_ROWS_PER_SECOND * 0.8
INSERT = "INSERT OR IGNORE INTO logins (event_id, user_id, ip, at) VALUES (?, ?, ?, ?)"
lock = threading.Lock()
next_slot = [time.monotonic()]
setup = db.connect()
setup.execute("CREATE UNIQUE INDEX IF NOT EXISTS logins_event_id ON logins (event_id)")
setup.close()


def wait_turn(rows: int) -> None:
    with lock:
        start = max(next_slot[0], time.monotonic())
        next_slot[0] = start + rows / RATE
    time.sleep(max(0.0, start - time.monotonic()))


def work() -> None:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="lab02-logins")["QueueUrl"]
    conn = db.connect()
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            continue
        wait_turn(len(messages))
        try:
            with conn:
                conn.executemany(INSERT, [db.row(m["Body"]) for m in messages])
        except sqlite3.Error:
            continue
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)])


threads = [threading.Thread(target=work, daemon=True) for _ in range(THREADS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
