"""Deploy the function lab05-compress and connect it to the queue (safe to run again)."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab05-")
FUNCTION = f"{PREFIX}compress"
ROLE = f"{PREFIX}compress-role"
QUEUE = f"{PREFIX}upload-events"
# Bucket names are global across all AWS accounts: yours end with your account id.
ACCOUNT = boto3.client("sts").get_caller_identity()["Account"]
UPLOADS = f"{PREFIX}uploads-{ACCOUNT}"
PROCESSED = f"{PREFIX}processed-{ACCOUNT}"
TIMEOUT = 15  # seconds; the queue's visibility timeout is 6 x this
HERE = Path(__file__).resolve().parent
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


def package() -> bytes:
    """The deployment package, built in memory: the handler and the scanner it imports."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("handler.py", "scanner.py"):
            archive.write(HERE / name, name)
    return buffer.getvalue()


def ensure_role(iam, queue_arn: str) -> str:
    """The role with the resource API: AWS's managed policy for SQS consumers, S3 inline."""
    resource = boto3.resource("iam")
    role = resource.Role(ROLE)
    try:
        role.load()
    except resource.meta.client.exceptions.NoSuchEntityException:
        role = resource.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))
    role.attach_policy(
        PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole")
    role.Policy("s3-access").put(PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{UPLOADS}/incoming/*"},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": [f"arn:aws:s3:::{PROCESSED}/done/*",
                          f"arn:aws:s3:::{PROCESSED}/rejected/*"]}]}))
    return role.arn


def ensure_function(lam, role_arn: str) -> None:
    settings = dict(Role=role_arn, Handler="handler.handler", Runtime="python3.12",
                    Timeout=TIMEOUT, MemorySize=256,
                    Environment={"Variables": {"PROCESSED_BUCKET": PROCESSED}})
    try:
        lam.create_function(FunctionName=FUNCTION, Code={"ZipFile": package()}, **settings)
    except lam.exceptions.ResourceConflictException:
        lam.update_function_code(FunctionName=FUNCTION, ZipFile=package())
        lam.get_waiter("function_updated_v2").wait(FunctionName=FUNCTION)
        lam.update_function_configuration(FunctionName=FUNCTION, **settings)
        lam.get_waiter("function_updated_v2").wait(FunctionName=FUNCTION)
    lam.get_waiter("function_active_v2").wait(FunctionName=FUNCTION)


def ensure_mapping(lam, queue_arn: str) -> None:
    settings = dict(BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"])
    found = [m for m in lam.list_event_source_mappings(
        FunctionName=FUNCTION, EventSourceArn=queue_arn)["EventSourceMappings"]
        if m.get("State") != "Deleting"]
    if found:
        uuid = found[0]["UUID"]
        lam.update_event_source_mapping(UUID=uuid, Enabled=True, **settings)
    else:
        uuid = lam.create_event_source_mapping(FunctionName=FUNCTION,
                                               EventSourceArn=queue_arn, **settings)["UUID"]
    for _ in range(40):  # bounded: up to 20 s for the poller to start
        if lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled":
            return
        time.sleep(0.5)
    raise SystemExit(f"the event source mapping {uuid} did not become Enabled")


def main() -> None:
    sqs = boto3.client("sqs")
    lam = boto3.client("lambda")
    iam = boto3.client("iam")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    role_arn = ensure_role(iam, queue_arn)
    ensure_function(lam, role_arn)
    ensure_mapping(lam, queue_arn)
    print("deployed", FUNCTION, "<-", QUEUE)


if __name__ == "__main__":
    main()
