"""The order service publishes every new order (it sends each queue what that consumer wants)."""

import argparse
import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab08-")

ORDERS = [("physical", 25), ("digital", 1200), ("physical", 999.99), ("physical", 1000),
          ("digital", 5), ("physical", 4500), ("digital", 80), ("physical", 60),
          ("digital", 1000), ("physical", 310), ("digital", 12.5), ("physical", 2300)]

sqs = boto3.client("sqs")
ROUTES = {"billing": lambda o: True,
          "shipping": lambda o: o["type"] == "physical",
          "audit": lambda o: o["amount"] >= 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", default="manual")
    args = parser.parse_args()
    urls = {name: sqs.get_queue_url(QueueName=f"{PREFIX}{name}")["QueueUrl"] for name in ROUTES}
    for i, (kind, amount) in enumerate(ORDERS):
        order = {"run": args.run, "order_id": f"{args.run}-{i}", "type": kind, "amount": amount}
        for name, wants in ROUTES.items():
            if wants(order):
                sqs.send_message(QueueUrl=urls[name], MessageBody=json.dumps(order))
    print(f"published {len(ORDERS)} orders")


if __name__ == "__main__":
    main()
