"""Deploy lab06-ingest behind the queue lab06-events, with its scaling knobs (rerunnable)."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab06-")
FUNCTION = f"{PREFIX}ingest"
QUEUE = f"{PREFIX}events"
ROLE = f"{PREFIX}ingest-role"
HERE = Path(__file__).resolve().parent

FUNCTION_TIMEOUT = 5  # s: a full batch (0.3 s connect + 50 x 4 ms) fits many times over
VISIBILITY_TIMEOUT = 6 * FUNCTION_TIMEOUT  # AWS: at least 6 x the function timeout
BATCH_SIZE = 50  # one warehouse connection per 50 rows instead of per 10
BATCHING_WINDOW = 2  # s to wait for a full batch (required when BatchSize > 10)
MAXIMUM_CONCURRENCY = 3  # the warehouse accepts 3 connections (sink.MAX_CONNECTIONS)


def ensure_queues(sqs) -> str:
    dlq = sqs.create_queue(QueueName=f"{QUEUE}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
    })
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]


def ensure_role(iam, queue_arn: str) -> str:
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    try:
        arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=ROLE)["Role"]["Arn"]
    iam.put_role_policy(RoleName=ROLE, PolicyName=f"{PREFIX}ingest-access",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Resource": queue_arn, "Action": [
                                "sqs:ReceiveMessage", "sqs:DeleteMessage",
                                "sqs:GetQueueAttributes"]},
                            {"Effect": "Allow", "Resource": "*", "Action": [
                                "logs:CreateLogGroup", "logs:CreateLogStream",
                                "logs:PutLogEvents"]}]}))
    return arn


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("handler.py", "sink.py", "measure.py"):
            archive.write(HERE / name, name)
    return buffer.getvalue()


def ensure_function(lam, role_arn: str) -> None:
    settings = dict(Role=role_arn, Handler="handler.handler", Runtime="python3.12",
                    Timeout=FUNCTION_TIMEOUT, MemorySize=256)
    try:
        lam.create_function(FunctionName=FUNCTION, Code={"ZipFile": package()}, **settings)
    except lam.exceptions.ResourceConflictException:
        lam.update_function_code(FunctionName=FUNCTION, ZipFile=package())
        lam.get_waiter("function_updated_v2").wait(FunctionName=FUNCTION)
        lam.update_function_configuration(FunctionName=FUNCTION, **settings)
        lam.get_waiter("function_updated_v2").wait(FunctionName=FUNCTION)
    lam.get_waiter("function_active_v2").wait(FunctionName=FUNCTION)


def ensure_mapping(lam, queue_arn: str) -> None:
    settings = dict(BatchSize=BATCH_SIZE, MaximumBatchingWindowInSeconds=BATCHING_WINDOW,
                    FunctionResponseTypes=["ReportBatchItemFailures"],
                    ScalingConfig={"MaximumConcurrency": MAXIMUM_CONCURRENCY})
    found = [m for m in lam.list_event_source_mappings(
        FunctionName=FUNCTION, EventSourceArn=queue_arn)["EventSourceMappings"]
        if m.get("State") != "Deleting"]
    if found:
        uuid = found[0]["UUID"]
        lam.update_event_source_mapping(UUID=uuid, Enabled=True, **settings)
    else:
        uuid = lam.create_event_source_mapping(FunctionName=FUNCTION,
                                               EventSourceArn=queue_arn, **settings)["UUID"]
    for _ in range(40):  # bounded: 20 s
        if lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled":
            return
        time.sleep(0.5)
    raise SystemExit(f"the event source mapping {uuid} did not become Enabled")


def main() -> None:
    sqs, lam, iam = boto3.client("sqs"), boto3.client("lambda"), boto3.client("iam")
    queue_arn = ensure_queues(sqs)
    ensure_function(lam, ensure_role(iam, queue_arn))
    ensure_mapping(lam, queue_arn)
    print(f"deployed {FUNCTION} <- {QUEUE}: batch {BATCH_SIZE}, window {BATCHING_WINDOW} s, "
          f"max concurrency {MAXIMUM_CONCURRENCY}, visibility {VISIBILITY_TIMEOUT} s")


if __name__ == "__main__":
    main()
