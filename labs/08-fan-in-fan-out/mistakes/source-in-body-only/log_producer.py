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
    """Send log events to the central queue (the source is in every event's body)."""
    entries = [{"Id": str(i), "MessageBody": json.dumps(event)}
               for i, event in enumerate(batch)]
    for _attempt in range(3):
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        failed = {f["Id"] for f in response.get("Failed", [])}
        if not failed:
            return
        entries = [e for e in entries if e["Id"] in failed]
    raise RuntimeError(f"{len(entries)} log events could not be sent")


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
