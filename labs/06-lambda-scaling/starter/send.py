"""Send events to lab06-events (given):  python send.py 200 [--rate 50] [--poison 3]"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab06-")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("--rate", type=float, default=0, help="messages per second (0: all)")
    parser.add_argument("--poison", type=int, default=0, help="bad messages among them")
    args = parser.parse_args()
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=f"{PREFIX}events")["QueueUrl"]
    run = uuid.uuid4().hex[:6]
    bodies = [json.dumps({"event_id": f"{run}-{i}", "amount": i}) for i in range(args.count)]
    for k in range(args.poison):
        bodies[(k * 37 + 5) % len(bodies)] = json.dumps({"event_id": f"{run}-bad{k}",
                                                         "amount": -1})
    start = time.monotonic()
    for first in range(0, len(bodies), 10):
        chunk = bodies[first:first + 10]
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)])
        if args.rate:
            time.sleep(max(0.0, start + (first + 10) / args.rate - time.monotonic()))
    print(f"sent {len(bodies)} messages in {time.monotonic() - start:.1f} s (run {run})")


if __name__ == "__main__":
    main()
