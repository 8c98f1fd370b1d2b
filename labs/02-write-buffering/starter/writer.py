"""The login writer: moves login events from lab02-logins into the logins database.

Run it with `python writer.py` (Ctrl-C stops it). The checks start it, send a burst, and
measure the rows it writes per second and the database connections it holds open. They
also crash it at the worst moments and make a write fail, then start it again.
"""

import threading

import boto3

import db

QUEUE = "lab02-logins"
# TODO (step 3): eight threads, each opening a connection per message: the database sees
# up to eight connections and as many writes per second as the queue can deliver. Stay
# within db.MAX_CONNECTIONS and db.MAX_ROWS_PER_SECOND.
THREADS = 8


def work() -> None:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    while True:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            # TODO (step 3): one connection and one transaction per row. Write a batch of
            # rows with executemany in one transaction, on a connection you keep.
            conn = db.connect()
            conn.execute(db.INSERT, db.row(message["Body"]))
            conn.commit()
            conn.close()
            # TODO (step 2): delete only after the row is committed, in batches. SQS
            # delivers at least once, and a crash between the commit and the delete
            # delivers the message again: a second delivery must not add a second row.
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


if __name__ == "__main__":
    threads = [threading.Thread(target=work, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        pass
