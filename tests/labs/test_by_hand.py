"""The by-hand commands next to check results: recorded from the reads a check really
made, and, run in a shell with the tutor's environment, they show what the check saw."""

from __future__ import annotations

import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.builtins import BUILTINS
from tutor.engine.labs.by_hand import MOST, command_for, recorded
from tutor.engine.labs.checks import CheckContext
from tutor.engine.labs.clock import LabClock
from tutor.engine.labs.scenario import ScenarioRunner


@pytest.mark.parametrize(("call", "command"), [
    (("sqs", "GetQueueAttributes", {"QueueUrl": "http://h/q 1",
                                    "AttributeNames": ["RedrivePolicy", "VisibilityTimeout"]}),
     "awslocal sqs get-queue-attributes --queue-url 'http://h/q 1' "
     "--attribute-names RedrivePolicy VisibilityTimeout"),
    (("s3", "GetBucketNotificationConfiguration", {"Bucket": "b"}),
     "awslocal s3api get-bucket-notification-configuration --bucket b"),
    (("lambda", "ListEventSourceMappings", {"FunctionName": "f", "MaxItems": 50}),
     "awslocal lambda list-event-source-mappings --function-name f --max-items 50"),
    (("cloudwatch", "DescribeAlarms", {"AlarmNames": ["a"], "Filters": [{"Name": "x"}]}),
     "awslocal cloudwatch describe-alarms --alarm-names a --filters '[{\"Name\":\"x\"}]'"),
    (("sns", "ListSubscriptionsByTopic", {"TopicArn": "arn:t", "Dry": False}),
     "awslocal sns list-subscriptions-by-topic --topic-arn arn:t --no-dry"),
])
def test_a_call_is_the_cli_command_that_makes_it(call: tuple[str, str, dict[str, object]],
                                                  command: str) -> None:
    assert command_for(*call) == command


@pytest.mark.localstack
def test_a_checks_reads_are_its_commands_and_they_show_the_same(
        localstack: Endpoint, tmp_path: Path) -> None:
    prefix = f"bh{uuid.uuid4().hex[:6]}-"
    ctx = CheckContext("00-by-hand", prefix, localstack, tmp_path, LabClock({}),
                       ScenarioRunner("00-by-hand", prefix, localstack, tmp_path))
    ctx.client("sqs").create_queue(QueueName=f"{prefix}jobs",
                                   Attributes={"VisibilityTimeout": "45"})
    ctx.params = {"queue": "jobs", "attribute": "VisibilityTimeout", "min": 30}
    calls: list[str] = []
    outcome = recorded(lambda: BUILTINS["builtin.queue_attribute"].check.fn(ctx), calls)
    assert outcome.passed, outcome.message
    assert 1 <= len(calls) <= MOST and len(set(calls)) == len(calls), calls
    assert any(c.startswith("awslocal sqs get-queue-attributes --queue-url ") for c in calls)
    assert not any("create-queue" in c for c in calls)  # its own writes are not evidence
    shown = ctx.client("sqs")  # a client outside a check notes nothing
    shown.list_queues()
    awslocal = str(Path(sys.executable).with_name("awslocal"))
    for command in calls:
        done = subprocess.run([awslocal, *shlex.split(command)[1:]], capture_output=True,
                              text=True, timeout=60, env=ctx.runner.env(), check=False)
        assert done.returncode == 0, (command, done.stderr)
        if "get-queue-attributes" in command:
            assert '"VisibilityTimeout": "45"' in done.stdout, done.stdout


def test_a_failed_checks_commands_are_shown_next_to_it() -> None:
    from tutor.engine.labs.results import CheckResult, StepReport
    from tutor.ui.lab_text import results

    command = "awslocal sqs get-queue-attributes --queue-url U --attribute-names All"
    failed = CheckResult("vt", "Visibility timeout", 1, 0, False, "Expected 30 s, found 0 s",
                         by_hand=[command])
    passed = CheckResult("dlq", "DLQ", 1, 1, True, "ok", by_hand=["awslocal sqs list-queues"])
    text = "\n".join(results(StepReport("s", "S", "failed", 1, 2, [failed, passed])))
    assert "See it yourself" in text and f"  {command}" in text
    assert "list-queues" not in text  # a passed check needs no proof
