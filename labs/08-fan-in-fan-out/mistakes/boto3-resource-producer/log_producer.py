"""A service that ships its log events to the central log queue (fan-in), with boto3's
resource API."""

import argparse
import json
import os
import time

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab08-")
LEVELS = ["INFO", "INFO", "INFO", "WARN", "ERROR"]

queue = boto3.resource("sqs").get_queue_by_name(QueueName=f"{PREFIX}logs")


def log_events(source: str, count: int, run: str) -> list[dict]:
    return [{"run": run, "source": source, "seq": i, "level": LEVELS[i % len(LEVELS)],
             "msg": f"{source} handled request {i}"} for i in range(count)]


def ship(source: str, batch: list[dict]) -> None:
    pending = {f"{source}-{event['seq']}": event for event in batch}
    delay = 0.1
    while pending:
        response = queue.send_messages(Entries=[
            {"Id": key, "MessageBody": json.dumps(event),
             "MessageAttributes": {"source": {"DataType": "String", "StringValue": source}}}
            for key, event in pending.items()])
        for ok in response.get("Successful", []):
            pending.pop(ok["Id"], None)
        if pending:
            time.sleep(delay)  # back off a little before resending what failed
            delay = min(delay * 2, 2.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--run", default="manual")
    args = parser.parse_args()
    events = log_events(args.source, args.count, args.run)
    for first in range(0, len(events), 10):
        ship(args.source, events[first:first + 10])
    print(f"{args.source}: shipped {len(events)} log events")


if __name__ == "__main__":
    main()
