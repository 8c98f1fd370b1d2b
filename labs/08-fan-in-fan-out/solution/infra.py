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
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "allow-only-" + source_arn.rsplit(":", 1)[-1].replace("/", "-"),
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            # Without this condition ANY topic (or rule) of ANY account could write here.
            "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
        }],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})


def subscribe(topic_arn: str, queue_arn: str, filter_policy: dict | None) -> None:
    """Subscribe the queue to the topic (raw delivery, optional filter policy), idempotently."""
    attrs = {"RawMessageDelivery": "true"}
    if filter_policy:
        attrs["FilterPolicyScope"] = "MessageAttributes"
        attrs["FilterPolicy"] = json.dumps(filter_policy)
    existing = [s["SubscriptionArn"] for s in
                sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
                if s["Endpoint"] == queue_arn]
    if not existing:
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                      Attributes=attrs, ReturnSubscriptionArn=True)
        return
    for name, value in attrs.items():
        sns.set_subscription_attributes(SubscriptionArn=existing[0], AttributeName=name,
                                        AttributeValue=value)


# Step 1 — fan-in: one queue that every service writes its logs to.
queue(f"{PREFIX}logs")

# Step 2 — fan-out: the orders topic and one queue per consumer.
topic_arn = sns.create_topic(Name=f"{PREFIX}orders")["TopicArn"]
consumers = {
    # Step 3 — filter policies on message attributes.
    "billing": None,  # every order
    "shipping": {"type": ["physical"]},
    "audit": {"amount": [{"numeric": [">=", 1000]}]},
}
for consumer, filter_policy in consumers.items():
    url, arn = queue(f"{PREFIX}{consumer}")
    # Step 4 — only this topic may send to the queue.
    allow_only(url, arn, "sns.amazonaws.com", topic_arn)
    subscribe(topic_arn, arn, filter_policy)

# Step 5 — EventBridge: custom bus, rule on source + detail-type, queue target.
bus = f"{PREFIX}bus"
try:
    events.create_event_bus(Name=bus)
except events.exceptions.ResourceAlreadyExistsException:
    pass
rule_arn = events.put_rule(
    Name=f"{PREFIX}shipped", EventBusName=bus, State="ENABLED",
    EventPattern=json.dumps({"source": ["lab08.warehouse"], "detail-type": ["OrderShipped"]}),
)["RuleArn"]
url, arn = queue(f"{PREFIX}shipped-events")
allow_only(url, arn, "events.amazonaws.com", rule_arn)
events.put_targets(Rule=f"{PREFIX}shipped", EventBusName=bus,
                   Targets=[{"Id": "shipped-events-queue", "Arn": arn}])
print(f"ready: rule {PREFIX}shipped on {bus}")
