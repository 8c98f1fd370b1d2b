"""Producer fleet: sends a burst of jobs to lab07-jobs from 8 threads with SendMessageBatch.

Provided by the lab, to play with by hand while the scaler runs in another terminal:

    python producer.py 800          # 800 jobs as fast as LocalStack takes them
    python producer.py 2000 --rate 100   # a steadier stream: 100 jobs/s

On a 2-core machine the embedded LocalStack absorbs about 1,250 messages/s this way.
"""

import argparse
import json
import os
import threading
import time

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab07-")
QUEUE = f"{PREFIX}jobs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=800)
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s (0: no limit)")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    batches = [list(range(i, min(i + 10, args.count))) for i in range(0, args.count, 10)]
    lock = threading.Lock()
    start = time.monotonic()
    sent = [0]

    def work() -> None:
        while True:
            with lock:
                if not batches:
                    return
                k = len(batches)
                batch = batches.pop()
            if args.rate:
                due = start + (args.count - k * 10) / args.rate
                time.sleep(max(0.0, due - time.monotonic()))
            result = sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(j), "MessageBody": json.dumps({"seq": n})}
                for j, n in enumerate(batch)])
            with lock:
                sent[0] += len(result.get("Successful", []))

    threads = [threading.Thread(target=work) for _ in range(max(1, args.threads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    seconds = time.monotonic() - start
    print(f"sent {sent[0]} jobs to {QUEUE} in {seconds:.1f} s ({sent[0] / seconds:.0f}/s)")


if __name__ == "__main__":
    main()
