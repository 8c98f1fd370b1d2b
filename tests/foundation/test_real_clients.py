"""Real clients nobody here wrote reach the tutor's LocalStack after `eval "$(tutor env)"`:
the AWS CLI (`awslocal` and `aws --endpoint-url`), boto3 and the AWS SDK for JavaScript v3,
even from a shell with a stale AWS_PROFILE and a per-service endpoint pointing elsewhere."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

BIN = Path(sys.executable).parent
NODE_MODULES = (Path(__file__).resolve().parents[2] / "labs" / "01-decoupling-tiers" /
                "starter" / "node" / "node_modules")
# A learner's shell as we found it: a profile that does not exist here, a session token,
# and an SQS endpoint of real AWS.
STALE = {"AWS_PROFILE": "work-account", "AWS_DEFAULT_PROFILE": "work-account",
         "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLE",
         "AWS_ENDPOINT_URL_SQS": "https://sqs.us-east-1.amazonaws.com"}

# One read-only operation per service the labs use, as the CLI spells them.
CLI_OPERATIONS = ["sqs list-queues", "sns list-topics", "s3api list-buckets",
                  "lambda list-functions", "events list-rules", "cloudwatch describe-alarms",
                  "logs describe-log-groups", "iam list-roles", "sts get-caller-identity",
                  "stepfunctions list-state-machines"]

BOTO3 = """
import boto3, json
found = {}
for service, op in [("sqs", "list_queues"), ("sns", "list_topics"), ("s3", "list_buckets"),
                    ("lambda", "list_functions"), ("events", "list_rules"),
                    ("cloudwatch", "describe_alarms"), ("logs", "describe_log_groups"),
                    ("iam", "list_roles"), ("sts", "get_caller_identity"),
                    ("stepfunctions", "list_state_machines")]:
    getattr(boto3.client(service), op)()
    found[service] = "ok"
found["queues"] = boto3.client("sqs").list_queues().get("QueueUrls", [])
print(json.dumps(found))
"""

NODE = """
import { SQSClient, ListQueuesCommand } from "@aws-sdk/client-sqs";
const reply = await new SQSClient({}).send(new ListQueuesCommand({}));
console.log(JSON.stringify(reply.QueueUrls ?? []));
"""


def _shell(localstack: Endpoint, script: str, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_"))}
    env.update(STALE)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    prelude = (f'eval "$({shlex.quote(sys.executable)} -m tutor --endpoint '
               f'{localstack.url} env)"\n')
    done = subprocess.run(["bash", "-c", prelude + script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cli_boto3_and_js_sdk_reach_localstack_after_tutor_env(localstack: Endpoint,
                                                               tmp_path: Path) -> None:
    from tutor.cloud.clients import client

    queue = f"realclients-{uuid.uuid4().hex[:6]}"
    client("sqs", localstack).create_queue(QueueName=queue)
    lines = ["set -e"]
    for operation in CLI_OPERATIONS:
        lines.append(f"awslocal {operation} > /dev/null && echo 'awslocal {operation}: ok'")
    for operation in CLI_OPERATIONS[:2]:  # each CLI start costs ~1 s: SQS (the v1 bug), SNS
        lines.append(f'aws --endpoint-url "$AWS_ENDPOINT_URL" {operation} > /dev/null '
                     f"&& echo 'aws {operation}: ok'")
    lines.append("echo AWS_PROFILE=${AWS_PROFILE:-unset} "
                 "AWS_ENDPOINT_URL_SQS=${AWS_ENDPOINT_URL_SQS:-unset}")
    lines.append("awslocal sqs list-queues --output json")
    out = _shell(localstack, "\n".join(lines), tmp_path)
    for operation in CLI_OPERATIONS:
        assert f"awslocal {operation}: ok" in out
    assert all(f"aws {operation}: ok" in out for operation in CLI_OPERATIONS[:2])
    assert "AWS_PROFILE=unset AWS_ENDPOINT_URL_SQS=unset" in out
    assert queue in out.split("AWS_ENDPOINT_URL_SQS=unset", 1)[1]

    (tmp_path / "probe.py").write_text(BOTO3)
    found = json.loads(_shell(localstack, f"{shlex.quote(sys.executable)} probe.py",
                              tmp_path).strip().splitlines()[-1])
    assert any(u.endswith("/" + queue) for u in found.pop("queues"))
    assert set(found.values()) == {"ok"} and len(found) == 10

    node = shutil.which("node")
    if node is None or not NODE_MODULES.is_dir():
        pytest.skip("Node.js or lab 01's node_modules (npm ci) is missing")
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)
    (tmp_path / "probe.mjs").write_text(NODE)
    urls = json.loads(_shell(localstack, f"{shlex.quote(node)} probe.mjs",
                             tmp_path).strip().splitlines()[-1])
    assert any(u.endswith("/" + queue) for u in urls)


def test_env_unsets_what_would_send_tools_elsewhere_in_every_shell() -> None:
    localstack_url = "http://127.0.0.1:4566"
    env = {**os.environ, **STALE, "AWS_ENDPOINT_URL_S3": "https://s3.amazonaws.com"}
    for shell, unset in (("sh", "unset AWS_PROFILE"), ("fish", "set -e AWS_PROFILE;"),
                         ("powershell", "Remove-Item Env:AWS_PROFILE")):
        done = subprocess.run([sys.executable, "-m", "tutor", "--endpoint", localstack_url,
                               "env", "--shell", shell], capture_output=True, text=True,
                              env=env, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert unset in done.stdout
        for name in ("AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_SQS",
                     "AWS_ENDPOINT_URL_S3"):
            assert name in done.stdout
        if shell == "sh":  # the unsets come first: nothing the tutor sets is undone
            assert done.stdout.index("unset AWS_PROFILE") < \
                done.stdout.index("export AWS_ENDPOINT_URL=")
