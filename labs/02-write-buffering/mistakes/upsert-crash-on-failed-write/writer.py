"""Login writer: crash on any error and let the supervisor start it again."""

import time

import boto3

import db

sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName="lab02-logins")["QueueUrl"]
conn = db.connect()
conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS one_row_per_event ON logins (event_id)")
UPSERT = ("INSERT INTO logins (event_id, user_id, ip, at) VALUES (?, ?, ?, ?) "
          "ON CONFLICT (event_id) DO NOTHING")

while True:
    batch = []
    for _ in range(3):  # up to 30 messages per transaction
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                  WaitTimeSeconds=0 if batch else 2).get("Messages", [])
        batch += got
        if len(got) < 10:
            break
    if not batch:
        continue
    started = time.monotonic()
    conn.executemany(UPSERT, [db.row(m["Body"]) for m in batch])
    conn.commit()  # a failed commit raises: nothing is deleted, the process ends
    for i in range(0, len(batch), 10):
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]}
            for m in batch[i:i + 10]])
    time.sleep(max(0.0, len(batch) / 250 - (time.monotonic() - started)))
