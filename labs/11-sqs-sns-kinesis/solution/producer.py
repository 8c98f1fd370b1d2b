"""The shop's producer: the same stream of order events, sent three ways.

    python producer.py --to sqs       # step 1: to the queue lab11-orders
    python producer.py --to sns       # step 2: to the topic lab11-orders (fan-out)
    python producer.py --to kinesis   # step 3: to the stream lab11-orders
    options: --run RUN (a tag in every event id), --orders N (default 12)

Every order has three events, in this order: created, paid, shipped. The shop
interleaves them across orders, as real traffic does.
"""

import argparse
import json
import os
import time
from collections.abc import Iterator

import boto3
from botocore.exceptions import ClientError

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")
STAGES = ("created", "paid", "shipped")


def events(run: str, orders: int) -> Iterator[dict]:
    for seq, stage in enumerate(STAGES, start=1):
        for n in range(1, orders + 1):
            order_id = f"{run}-o{n}"
            yield {"event_id": f"{order_id}-{seq}", "order_id": order_id, "seq": seq,
                   "type": stage, "amount_cents": 1000 + 25 * n}


def send_sqs(batch: list[dict]) -> None:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=f"{PREFIX}orders")["QueueUrl"]
    for event in batch:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))


def publish_sns(batch: list[dict]) -> None:
    sns = boto3.client("sns")
    account = boto3.client("sts").get_caller_identity()["Account"]
    topic_arn = f"arn:aws:sns:{sns.meta.region_name}:{account}:{PREFIX}orders"
    for event in batch:
        # One publish; SNS pushes a copy to every subscription, and keeps nothing.
        sns.publish(TopicArn=topic_arn, Message=json.dumps(event))


def put_kinesis(batch: list[dict]) -> None:
    kinesis = boto3.client("kinesis")
    for event in batch:
        put(kinesis, event)


def put(kinesis, event: dict) -> None:
    """Put one event, retrying a throttled put before the next event goes out.

    The partition key is the order id: every event of an order lands in the same shard,
    in the order it was put, and different orders spread over the shards.
    """
    delay = 0.1
    for _ in range(8):
        try:
            kinesis.put_record(StreamName=f"{PREFIX}orders", Data=json.dumps(event).encode(),
                               PartitionKey=event["order_id"])
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ProvisionedThroughputExceededException":
                raise
            time.sleep(delay)  # the shard is over its 1 MB/s or 1,000 records/s: back off
            delay *= 2
    raise RuntimeError(f"{event['event_id']}: still throttled after 8 attempts")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--to", choices=["sqs", "sns", "kinesis"], required=True)
    parser.add_argument("--run", default="manual")
    parser.add_argument("--orders", type=int, default=12)
    args = parser.parse_args()
    batch = list(events(args.run, args.orders))
    {"sqs": send_sqs, "sns": publish_sns, "kinesis": put_kinesis}[args.to](batch)
    print(f"sent {len(batch)} events of {args.orders} orders to {args.to}")


if __name__ == "__main__":
    main()
