"""The order service publishes every new order once, to the `lab08-orders` topic (fan-out).

Run by the lab as `order_service.py --run RUN`. Billing wants every order, shipping only
physical ones, audit only orders of 1,000 or more: the topic's subscriptions decide.
"""

import argparse
import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab08-")

# (type, amount): boundaries on purpose — 999.99 is not high value, 1000 is.
ORDERS = [("physical", 25), ("digital", 1200), ("physical", 999.99), ("physical", 1000),
          ("digital", 5), ("physical", 4500), ("digital", 80), ("physical", 60),
          ("digital", 1000), ("physical", 310), ("digital", 12.5), ("physical", 2300)]

sns = boto3.client("sns")
sts = boto3.client("sts")


def publish(topic_arn: str, order: dict) -> None:
    # Filter policies match message attributes; a numeric filter needs DataType Number.
    sns.publish(TopicArn=topic_arn, Message=json.dumps(order), MessageAttributes={
        "type": {"DataType": "String", "StringValue": order["type"]},
        "amount": {"DataType": "Number", "StringValue": str(order["amount"])},
    })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", default="manual")
    args = parser.parse_args()
    account = sts.get_caller_identity()["Account"]
    region = sns.meta.region_name
    topic_arn = f"arn:aws:sns:{region}:{account}:{PREFIX}orders"
    for i, (kind, amount) in enumerate(ORDERS):
        publish(topic_arn, {"run": args.run, "order_id": f"{args.run}-{i}", "type": kind,
                            "amount": amount})
    print(f"published {len(ORDERS)} orders")


if __name__ == "__main__":
    main()
