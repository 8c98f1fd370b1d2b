"""Create lab 08's resources: a log queue (fan-in), a topic with three queues (fan-out),
and an EventBridge bus with a rule that routes to a queue. Idempotent: run it again after
every change."""

import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab08-")

sqs = boto3.client("sqs")
sns = boto3.client("sns")
events = boto3.client("events")


def queue(name: str) -> tuple[str, str]:
    """Create (or find) a standard queue; returns (url, arn)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    print(f"ready: {name}")
    return url, arn


def allow_only(queue_url: str, queue_arn: str, service: str, source_arn: str) -> None:
    """Give the queue a policy that lets `service` send to it only on behalf of `source_arn`."""
    # TODO (step 4): a queue policy is a JSON document with a Statement list. Which
    #       Principal, Action, Resource and Condition let ONLY this topic (or rule) send?
    _ = (queue_url, queue_arn, service, source_arn, json)


def subscribe(topic_arn: str, queue_arn: str, filter_policy: dict | None) -> None:
    """Subscribe the queue to the topic (raw delivery, optional filter policy), idempotently."""
    # TODO (steps 2 and 3): subscribe with protocol "sqs". Which subscription attribute
    #       delivers the bare message instead of the SNS JSON envelope? Which one filters?
    #       Re-running must not create a second subscription: look for an existing one
    #       (list_subscriptions_by_topic) and update its attributes instead.
    _ = (topic_arn, queue_arn, filter_policy)


# Step 1 — fan-in: one queue that every service writes its logs to.
queue(f"{PREFIX}logs")

# Step 2 — fan-out: the orders topic and one queue per consumer.
# TODO: create the topic `lab08-orders` and the queues `lab08-billing`, `lab08-shipping`,
#       `lab08-audit`, then subscribe each queue to the topic.

# Step 3 — filter policies (on message attributes):
#   billing: every order; shipping: only type = physical; audit: only amount >= 1000.

# Step 4 — allow_only(...) for each of the three queues, with the topic's ARN.

# Step 5 — EventBridge: a custom bus `lab08-bus`, a rule `lab08-shipped` on it matching
#   source `lab08.warehouse` and detail-type `OrderShipped`, targeting the queue
#   `lab08-shipped-events` (whose policy allows only that rule).
# TODO
