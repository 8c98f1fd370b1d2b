"""Reset finds a lab's resources by prefix in every service the labs use, and deletes them."""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING

import pytest

from tutor.cloud.clients import client
from tutor.engine.labs.namespace import Namespace

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

PREFIX = "lab97-"
ASSUME = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.mark.localstack
def test_every_service_is_listed_and_cleaned(localstack: Endpoint) -> None:
    sqs, sns, s3 = (client(s, localstack) for s in ("sqs", "sns", "s3"))
    events, cw, logs = (client(s, localstack) for s in ("events", "cloudwatch", "logs"))
    sfn, iam, lam = (client(s, localstack) for s in ("stepfunctions", "iam", "lambda"))

    queue = sqs.create_queue(QueueName=f"{PREFIX}q")["QueueUrl"]
    other = sqs.create_queue(QueueName="lab96-not-mine")["QueueUrl"]
    topic = sns.create_topic(Name=f"{PREFIX}topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs",
                  Endpoint=f"arn:aws:sqs:{localstack.region}:000000000000:{PREFIX}q")
    s3.create_bucket(Bucket=f"{PREFIX}bucket")
    s3.put_object(Bucket=f"{PREFIX}bucket", Key="a/b.txt", Body=b"x")
    events.put_rule(Name=f"{PREFIX}rule", EventPattern=json.dumps({"source": ["lab97"]}))
    events.put_targets(Rule=f"{PREFIX}rule", Targets=[{
        "Id": "q", "Arn": f"arn:aws:sqs:{localstack.region}:000000000000:{PREFIX}q"}])
    cw.put_metric_alarm(AlarmName=f"{PREFIX}alarm", MetricName="m", Namespace="n",
                        Statistic="Sum", Period=10, EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator="GreaterThanThreshold")
    logs.create_log_group(logGroupName=f"/aws/lambda/{PREFIX}fn")
    role = iam.create_role(RoleName=f"{PREFIX}role", AssumeRolePolicyDocument=ASSUME)["Role"]
    iam.put_role_policy(RoleName=f"{PREFIX}role", PolicyName="inline",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
    managed = iam.create_policy(PolicyName=f"{PREFIX}send", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}))["Policy"]
    iam.attach_role_policy(RoleName=f"{PREFIX}role", PolicyArn=managed["Arn"])
    iam.create_user(UserName=f"{PREFIX}user")
    iam.attach_user_policy(UserName=f"{PREFIX}user", PolicyArn=managed["Arn"])
    sfn.create_state_machine(name=f"{PREFIX}flow", roleArn=role["Arn"], definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))
    lam.create_function(FunctionName=f"{PREFIX}fn", Runtime="python3.13", Role=role["Arn"],
                        Handler="handler.handler", Code={"ZipFile": _zip()})

    namespace = Namespace(PREFIX, localstack)
    found = namespace.resources()
    assert set(found) == {"sqs", "sns", "s3", "events", "cloudwatch", "logs", "iam",
                          "stepfunctions", "lambda", "iam-policy", "iam-user"}
    assert found["sqs"] == [queue]
    deleted = namespace.delete()
    assert set(deleted) == set(found), namespace.errors
    assert namespace.resources() == {}
    assert namespace.errors == []
    # Another lab's queue is untouched.
    assert sqs.get_queue_url(QueueName="lab96-not-mine")["QueueUrl"] == other
    sqs.delete_queue(QueueUrl=other)


@pytest.mark.localstack
def test_orphaned_event_source_mapping_is_found_and_deleted(localstack: Endpoint) -> None:
    """LocalStack keeps a mapping polling after its function is deleted; reset finds it."""
    import time

    sqs, lam, iam = (client(s, localstack) for s in ("sqs", "lambda", "iam"))
    prefix = "lab95-"
    url = sqs.create_queue(QueueName=f"{prefix}jobs")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    role = iam.create_role(RoleName=f"{prefix}role", AssumeRolePolicyDocument=ASSUME)["Role"]
    lam.create_function(FunctionName=f"{prefix}fn", Runtime="python3.13", Role=role["Arn"],
                        Handler="handler.handler", Code={"ZipFile": _zip()})
    for _ in range(100):
        if lam.get_function(FunctionName=f"{prefix}fn")["Configuration"]["State"] == "Active":
            break
        time.sleep(0.1)
    mapping = lam.create_event_source_mapping(FunctionName=f"{prefix}fn", EventSourceArn=arn,
                                              BatchSize=10)["UUID"]
    lam.delete_function(FunctionName=f"{prefix}fn")  # the mapping is now an orphan

    namespace = Namespace(prefix, localstack)
    assert namespace.resources().get("esm") == [mapping]
    deleted = namespace.delete()
    assert deleted.get("esm") == [mapping], namespace.errors
    assert namespace.resources() == {}
    remaining = [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]
                 if m.get("State") != "Deleting"]
    assert mapping not in remaining
