"""Consumer: takes jobs from lab07-jobs, "processes" each one, records it in processed.jsonl.

Provided by the lab (the scaler starts and stops copies of it). Read it: the way it stops
matters for scale-in. On SIGTERM it finishes the batch in hand, deletes it, and exits —
what an ECS task does within its stopTimeout, or an EC2 instance in a termination
lifecycle hook. A worker killed mid-batch would leave its messages invisible until the
visibility timeout ends, and they would be processed late (and twice, if half-done).
"""

import json
import os
import signal
import time
from pathlib import Path

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab07-")
QUEUE = f"{PREFIX}jobs"
# The lab clock: 0.05 s per job here stands for 2 s per job in production. The time is
# spent waiting on a downstream service (sleep), not computing: CPU stays low whatever
# the backlog, which is why CPU is the wrong metric to scale queue workers on.
WORK_SECONDS = 0.05
MAX_LIFETIME = 900  # seconds: a worker never outlives a forgotten scaler by much
LEDGER = Path(__file__).with_name("processed.jsonl")

stopping = False


def on_sigterm(_signum, _frame):
    global stopping
    stopping = True  # finish the current batch, then leave the loop


def main() -> None:
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)
    # The scaler that started us (it says which): if it is gone, so are we — even when it
    # died while this process was still starting (then our parent is already another).
    parent = int(os.environ.get("LAB07_SCALER_PID") or os.getppid())
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    print(f"worker {os.getpid()} polling {QUEUE}", flush=True)
    deadline = time.monotonic() + MAX_LIFETIME
    while not stopping and time.monotonic() < deadline and os.getppid() == parent:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                       MessageSystemAttributeNames=["SentTimestamp"])
        messages = response.get("Messages", [])
        if not messages:
            continue
        lines = []
        for message in messages:
            time.sleep(WORK_SECONDS)  # the call to the downstream service
            sent = int(message["Attributes"]["SentTimestamp"]) / 1000
            lines.append(json.dumps({"id": message["MessageId"], "body": message["Body"],
                                     "sent": sent, "done": round(time.time(), 3),
                                     "pid": os.getpid()}))
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        with LEDGER.open("a") as ledger:  # one append per batch: lines never interleave
            ledger.write("\n".join(lines) + "\n")
    print(f"worker {os.getpid()} stopped", flush=True)


if __name__ == "__main__":
    main()
