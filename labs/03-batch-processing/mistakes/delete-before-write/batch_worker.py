"""The batch worker: drains lab03-jobs into the jobs database, ten messages at a time.

Run it with `python batch_worker.py` (Ctrl-C stops it). The checks run it on a backlog and
count its API calls and database transactions against one_at_a_time.py.
"""


import boto3

import db

sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName="lab03-jobs")["QueueUrl"]
conn = db.connect()


def handle_batch(messages: list[dict]) -> None:
    """Take the batch off the queue first (so nobody else gets it), then write it."""
    rows, done = [], []
    for message in messages:
        try:
            rows.append(db.parse(message["Body"]))
            done.append(message)
        except ValueError as exc:
            print(f"skipping {message['MessageId']}: {exc}", flush=True)
    if not done:
        return
    sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
    with conn:
        conn.executemany("INSERT OR IGNORE INTO jobs (job_id, customer, amount_cents) "
                         "VALUES (?, ?, ?)", rows)


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
