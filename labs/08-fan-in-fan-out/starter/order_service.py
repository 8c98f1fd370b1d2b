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
    # TODO: subscription filter policies look at MESSAGE ATTRIBUTES by default, not at the
    #       body. Which attributes must every order carry, and with which DataType must
    #       `amount` be sent for a numeric filter (>= 1000) to match it?
    sns.publish(TopicArn=topic_arn, Message=json.dumps(order))


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
