"""Order service: publishes each order's events (created, paid, packed, shipped) in order.

Run by the lab as `producer.py --run RUN --orders N [--poison ORDER]`. It simulates a
flaky network: some events are sent twice, the way a client retries after a timeout (the
retry carries a new `sent_at`, so its body differs from the first attempt).
"""

import argparse
import hashlib
import json
import os
import time

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab09-")
STAGES = ["created", "paid", "packed", "shipped"]

sqs = boto3.client("sqs")
sqs_resource = boto3.resource("sqs")


def events(run: str, orders: int, poison: int | None) -> list[dict]:
    """All events, interleaved across orders as they would happen in a real shop."""
    out = []
    for seq, stage in enumerate(STAGES, start=1):
        for n in range(1, orders + 1):
            out.append({
                "event_id": f"{run}-o{n}-{seq}",
                "order_id": f"{run}-o{n}",
                "seq": seq,
                "type": stage,
                # the payment of the poison order is declined: the worker cannot process it
                "poison": poison == n and stage == "paid",
            })
    return out


def send(queue_url: str, event: dict) -> None:
    body = json.dumps({**event, "sent_at": time.time()})
    # the same for the first attempt and any retry: the event without its send time
    stable = hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()
    queue = sqs_resource.Queue(queue_url)
    queue.send_message(MessageBody=body, MessageGroupId=f"order-{event['order_id']}",
                       MessageDeduplicationId=stable)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", default=str(int(time.time())))
    parser.add_argument("--orders", type=int, default=6)
    parser.add_argument("--poison", type=int, default=None)
    args = parser.parse_args()
    url = sqs.get_queue_url(QueueName=f"{PREFIX}orders.fifo")["QueueUrl"]
    sent = 0
    for event in events(args.run, args.orders, args.poison):
        send(url, event)
        sent += 1
        n = int(event["order_id"].rsplit("o", 1)[1])
        if (n + event["seq"]) % 4 == 0:  # the network timed out: the client retries
            send(url, event)
            sent += 1
    print(f"sent {sent} messages for {args.orders} orders (run {args.run})")


if __name__ == "__main__":
    main()
