"""Step 2: the SNS topic of lab 11 and its two subscriber queues (idempotent)."""

import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")

sqs = boto3.client("sqs")
sns = boto3.client("sns")


def queue(name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return url, arn


def only_the_topic(queue_url: str, queue_arn: str, topic_arn: str) -> None:
    """The queue accepts SendMessage from SNS on behalf of this topic, and nothing else."""
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "orders-topic-only",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
    }]}
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})


def subscribe(topic_arn: str, queue_arn: str) -> None:
    """One raw subscription per queue (running this again changes nothing)."""
    existing = [s["SubscriptionArn"] for s in
                sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
                if s["Endpoint"] == queue_arn]
    if existing:
        sns.set_subscription_attributes(SubscriptionArn=existing[0],
                                        AttributeName="RawMessageDelivery",
                                        AttributeValue="true")
        return
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true"}, ReturnSubscriptionArn=True)


topic_arn = sns.create_topic(Name=f"{PREFIX}orders")["TopicArn"]
for consumer in ("billing", "shipping"):
    url, arn = queue(f"{PREFIX}{consumer}")
    only_the_topic(url, arn, topic_arn)
    subscribe(topic_arn, arn)
    print(f"ready: {PREFIX}{consumer} subscribed to {PREFIX}orders (raw delivery)")
