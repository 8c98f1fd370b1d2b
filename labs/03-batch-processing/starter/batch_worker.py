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
    """Write the valid jobs of a batch to the database, then delete them from the queue."""
    # TODO (step 3): parse each message with db.parse(); an invalid one must not stop the
    # valid ones, and must not be deleted (SQS retries it, then dead-letters it).
    # TODO (step 2): write all valid rows in ONE transaction (executemany), idempotently.
    # TODO (step 2): delete the written messages with ONE DeleteMessageBatch call, and look
    # at its "Failed" list.
    for message in messages:
        row = db.parse(message["Body"])
        with conn:
            conn.execute("INSERT OR IGNORE INTO jobs (job_id, customer, amount_cents) "
                         "VALUES (?, ?, ?)", row)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def main() -> None:
    while True:
        # TODO (step 2): receive up to 10 messages per call.
        # TODO (step 1): rely on the queue's long polling (or pass WaitTimeSeconds).
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0)
        messages = response.get("Messages", [])
        if messages:
            handle_batch(messages)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
