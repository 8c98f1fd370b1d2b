"""Two writer threads (two connections: the limit), paced together under 300 rows/s."""

import sqlite3
import threading
import time

import boto3

import db

RATE = db.MAX_ROWS_PER_SECOND * 0.8  # both threads together
INSERT = "INSERT OR IGNORE INTO logins (event_id, user_id, ip, at) VALUES (?, ?, ?, ?)"
lock = threading.Lock()
slot = [time.monotonic()]


def wait_turn(rows: int) -> None:
    """Reserve `rows` of the shared budget; sleep until the reservation starts."""
    with lock:
        start = max(slot[0], time.monotonic())
        slot[0] = start + rows / RATE
    time.sleep(max(0.0, start - time.monotonic()))


def collect(sqs, url: str) -> list[dict]:
    messages: list[dict] = []
    while len(messages) < 30:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                  WaitTimeSeconds=0 if messages else 1).get("Messages", [])
        if not got:
            break
        messages += got
    return messages


def work(first: bool) -> None:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="lab02-logins")["QueueUrl"]
    conn = db.connect()
    if first:
        conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS logins_event_id ON logins (event_id)")
    while True:
        messages = collect(sqs, url)
        if not messages:
            continue
        wait_turn(len(messages))
        try:
            with conn:
                conn.executemany(INSERT, [db.row(m["Body"]) for m in messages])
        except sqlite3.Error as exc:
            print(f"write failed: {exc}")
            continue
        for i in range(0, len(messages), 10):
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]}
                for j, m in enumerate(messages[i:i + 10])])


work_first = threading.Thread(target=work, args=(True,), daemon=True)
work_first.start()
time.sleep(0.2)  # the index exists before the second thread writes
other = threading.Thread(target=work, args=(False,), daemon=True)
other.start()
work_first.join()
