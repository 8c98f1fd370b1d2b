"""Order service: publishes each order's events (created, paid, packed, shipped) in order.

Run by the lab as `producer.py --run RUN --orders N [--poison ORDER]`. It simulates a
flaky network: some events are sent twice, the way a client retries after a timeout (the
retry carries a new `sent_at`, so its body differs from the first attempt).
"""

import argparse
import json
import os
import time

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab09-")
STAGES = ["created", "paid", "packed", "shipped"]

sqs = boto3.client("sqs")


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


SENT: set[str] = set()  # events already sent by this process


def send(queue_url: str, event: dict) -> None:
    if event["event_id"] in SENT:  # a retry: we know it went through already
        return
    body = json.dumps({**event, "sent_at": time.time()})
    sqs.send_message(QueueUrl=queue_url, MessageBody=body,
                     MessageGroupId=event["order_id"])
    SENT.add(event["event_id"])


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
