"""A service that ships its log events to the central log queue (fan-in).

Run by the lab as `log_producer.py --source NAME --count N --run RUN`; three of them run at
the same time, each as a different service.
"""

import argparse
import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab08-")
LEVELS = ["INFO", "INFO", "INFO", "WARN", "ERROR"]

sqs = boto3.client("sqs")


def log_events(source: str, count: int, run: str) -> list[dict]:
    return [{"run": run, "source": source, "seq": i, "level": LEVELS[i % len(LEVELS)],
             "msg": f"{source} handled request {i}"} for i in range(count)]


def ship(queue_url: str, source: str, batch: list[dict]) -> None:
    """Send log events to the central queue."""
    for event in batch:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event),
                         MessageAttributes={"source": {"DataType": "String",
                                                       "StringValue": source}})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--run", default="manual")
    args = parser.parse_args()
    url = sqs.get_queue_url(QueueName=f"{PREFIX}logs")["QueueUrl"]
    events = log_events(args.source, args.count, args.run)
    for first in range(0, len(events), 10):
        ship(url, args.source, events[first:first + 10])
    print(f"{args.source}: shipped {len(events)} log events")


if __name__ == "__main__":
    main()
