"""The login writer: moves login events from lab02-logins into the logins database.

Run it with `python writer.py` (Ctrl-C stops it). The checks start it, send a burst, and
measure the rows it writes per second and the database connections it holds open. They
also crash it at the worst moments and make a write fail, then start it again.
"""

import sqlite3
import time

import boto3

import db

QUEUE = "lab02-logins"
RATE = db.MAX_ROWS_PER_SECOND * 0.8  # rows per second, with headroom under the limit
BATCH = 40  # rows per transaction

# Idempotent writes: SQS delivers at least once (and a crash between the commit and the
# delete makes it deliver a whole batch again), so a login already written is skipped.
UNIQUE = "CREATE UNIQUE INDEX IF NOT EXISTS logins_event_id ON logins (event_id)"
INSERT_ONCE = "INSERT OR IGNORE INTO logins (event_id, user_id, ip, at) VALUES (?, ?, ?, ?)"

sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]


def collect() -> list[dict]:
    """Up to BATCH messages: wait for the first, then take what is already there."""
    messages: list[dict] = []
    while len(messages) < BATCH:
        wait = 0 if messages else 1  # long-poll only while the batch is still empty
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, BATCH - len(messages)),
                                  WaitTimeSeconds=wait).get("Messages", [])
        if not got:
            break
        messages.extend(got)
    return messages


def delete(messages: list[dict]) -> None:
    """Delete a committed batch, 10 at a time (the most DeleteMessageBatch takes)."""
    for start in range(0, len(messages), 10):
        chunk = messages[start:start + 10]
        failed = sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(chunk)]).get("Failed", [])
        if failed:  # they come back after the visibility timeout; the write is skipped then
            print(f"{len(failed)} deletes failed; those logins will be delivered again")


def main() -> None:
    conn = db.connect()  # ONE connection for the whole process (limit: MAX_CONNECTIONS)
    conn.execute(UNIQUE)
    next_slot = time.monotonic()
    while True:
        messages = collect()
        if not messages:
            continue
        # Pace the writes: a batch of n rows may start only n / RATE s after the last one.
        delay = next_slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            with conn:  # one transaction per batch
                conn.executemany(INSERT_ONCE, [db.row(m["Body"]) for m in messages])
        except sqlite3.Error as exc:
            # Not committed: keep the messages. They come back after the visibility
            # timeout and the batch is written then.
            print(f"write failed ({exc}); {len(messages)} logins will be retried")
            continue
        finally:
            # Measured from after the write, so a slow write never lets the next ones bunch up.
            next_slot = time.monotonic() + len(messages) / RATE
        delete(messages)  # only what is committed


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
