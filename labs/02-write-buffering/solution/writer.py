"""The login writer: moves login events from lab02-logins into the logins database.

Run it with `python writer.py` (Ctrl-C stops it). The checks start it, send a burst, and
measure the rows it writes per second and the database connections it holds open.
"""

import time

import boto3

import db

QUEUE = "lab02-logins"
RATE = db.MAX_ROWS_PER_SECOND * 0.8  # rows per second, with headroom under the limit
BATCH = 40  # rows per transaction

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


def main() -> None:
    conn = db.connect()  # ONE connection for the whole process (limit: MAX_CONNECTIONS)
    next_slot = time.monotonic()
    while True:
        messages = collect()
        if not messages:
            continue
        # Pace the writes: a batch of n rows may start only n / RATE s after the last one.
        delay = next_slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        with conn:  # one transaction per batch
            conn.executemany(db.INSERT, [db.row(m["Body"]) for m in messages])
        # Measured from after the write, so a slow write never lets the next ones bunch up.
        next_slot = time.monotonic() + len(messages) / RATE
        for start in range(0, len(messages), 10):  # delete only what is committed
            chunk = messages[start:start + 10]
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(chunk)])


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
