"""Two learners on one LocalStack: each in an account of their own, against the real one.

(Every lab's whole self-test in a learner's account is tests/labs/test_selftest.py.)"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tutor import locations
from tutor.cloud.clients import client
from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.namespace import Namespace
from tutor.engine.labs.runner import run_checks
from tutor.engine.labs.selftest import selftest_lab
from tutor.engine.labs.solution import apply_solution
from tutor.engine.labs.workspace import reset_workspace
from tutor.engine.learner import account_for

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

pytestmark = pytest.mark.localstack


def _as(localstack: Endpoint, learner_id: str) -> Endpoint:
    """The shared LocalStack as this learner sees it."""
    return dataclasses.replace(localstack, account=account_for(learner_id))


def _ids() -> tuple[str, str]:
    run = uuid.uuid4().hex[:6]  # fresh accounts per test: nothing left from another test
    return f"ada-{run}", f"bob-{run}"


def test_each_learner_sees_only_their_own_queue(localstack: Endpoint) -> None:
    ada_id, bob_id = _ids()
    ada, bob = _as(localstack, ada_id), _as(localstack, bob_id)
    urls = {}
    for who, ep in (("ada", ada), ("bob", bob)):
        sqs = client("sqs", ep)
        urls[who] = sqs.create_queue(QueueName="lab04-orders")["QueueUrl"]
        sqs.send_message(QueueUrl=urls[who], MessageBody=f"order of {who}")
    assert urls["ada"] != urls["bob"]
    assert f"/{ada.account}/lab04-orders" in urls["ada"]
    try:
        for who, ep in (("ada", ada), ("bob", bob)):
            sqs = client("sqs", ep)
            listed = sqs.list_queues(QueueNamePrefix="lab04-").get("QueueUrls", [])
            assert listed == [urls[who]]
            assert sqs.get_queue_url(QueueName="lab04-orders")["QueueUrl"] == urls[who]
            got = sqs.receive_message(QueueUrl=urls[who], WaitTimeSeconds=1)["Messages"]
            assert [m["Body"] for m in got] == [f"order of {who}"]
            arn = sqs.get_queue_attributes(QueueUrl=urls[who], AttributeNames=["QueueArn"])
            assert arn["Attributes"]["QueueArn"].split(":")[4] == ep.account
        # The solo learner's default account sees neither.
        default = client("sqs", dataclasses.replace(localstack, account="000000000000"))
        listed = default.list_queues(QueueNamePrefix="lab04-").get("QueueUrls", [])
        assert not set(listed) & set(urls.values())
        # What accounts do NOT stop: LocalStack enforces no IAM, and a full queue URL
        # names its account, so a learner who copies another's URL reaches that queue
        # (on AWS a queue policy would be needed). Isolation prevents accidents, not abuse.
        eve = client("sqs", _as(localstack, f"eve-{uuid.uuid4().hex[:6]}"))
        eve.send_message(QueueUrl=urls["ada"], MessageBody="cross-account by URL")
        assert eve.list_queues(QueueNamePrefix="lab04-").get("QueueUrls", []) == []
    finally:
        for ep in (ada, bob):
            Namespace("lab04-", ep).delete()


def test_one_learners_reset_leaves_the_others_intact(localstack: Endpoint) -> None:
    ada_id, bob_id = _ids()
    ada, bob = _as(localstack, ada_id), _as(localstack, bob_id)
    for ep in (ada, bob):
        sqs = client("sqs", ep)
        url = sqs.create_queue(QueueName="lab04-orders")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="keep me")
        client("s3", ep).create_bucket(Bucket=f"lab04-b-{ep.account}")
    try:
        deleted = Namespace("lab04-", ada).delete()
        assert "sqs" in deleted and "s3" in deleted
        assert Namespace("lab04-", ada).resources() == {}
        left = Namespace("lab04-", bob).resources()
        assert [u.rsplit("/", 2)[-2:] for u in left["sqs"]] == [[bob.account, "lab04-orders"]]
        assert left["s3"] == [f"lab04-b-{bob.account}"]
        sqs = client("sqs", bob)
        url = sqs.get_queue_url(QueueName="lab04-orders")["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url,
                                         AttributeNames=["ApproximateNumberOfMessages"])
        assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "1"
    finally:
        Namespace("lab04-", bob).delete()
        Namespace("lab04-", ada).delete()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_lab04_selftest_for_one_learner_ignores_the_others_wrong_queue(
        localstack: Endpoint, tmp_path: Path) -> None:
    ada_id, bob_id = _ids()
    ada, bob = _as(localstack, ada_id), _as(localstack, bob_id)
    wrong = client("sqs", ada)
    # Ada's lab04-orders: no DLQ, tiny visibility timeout; Bob's checks must never see it.
    url = wrong.create_queue(QueueName="lab04-orders",
                             Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    wrong.send_message(QueueUrl=url, MessageBody="ada's")
    lab = load_lab(locations.labs_dir() / "04-retry-dlq")
    try:
        result = selftest_lab(lab, bob, tmp_path)
        assert result.ok, "\n".join(result.problems)
        assert result.solution is not None and result.solution.passed
        # Bob's self-test reset his namespace; Ada's queue is as she left it.
        attrs = wrong.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attrs["VisibilityTimeout"] == "1" and "RedrivePolicy" not in attrs
        assert attrs["ApproximateNumberOfMessages"] == "1"
    finally:
        Namespace("lab04-", ada).delete()
        Namespace("lab04-", bob).delete()


HANDLER = '''
import os
import boto3

def handler(event, context):
    sqs = boto3.client("sqs")
    out = sqs.get_queue_url(QueueName=os.environ["OUT"])["QueueUrl"]
    account = boto3.client("sts").get_caller_identity()["Account"]
    for record in event.get("Records", []):
        sqs.send_message(QueueUrl=out, MessageBody=record["body"] + " by " + account)
    return {"account": account, "key": os.environ["AWS_ACCESS_KEY_ID"]}
'''


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fn.py", source)
    return buffer.getvalue()


def _wait(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    return None


@pytest.mark.timeout(120)
def test_lambda_in_a_learner_account_talks_to_that_account(localstack: Endpoint) -> None:
    learner_ep = _as(localstack, _ids()[0])
    default_ep = dataclasses.replace(localstack, account="000000000000")
    prefix = f"lab96-{uuid.uuid4().hex[:6]}-"
    sqs, lam = client("sqs", learner_ep), client("lambda", learner_ep, read_timeout=60)
    # The same queue names exist in the default account: a leak would land there.
    decoy = client("sqs", default_ep).create_queue(QueueName=f"{prefix}out")["QueueUrl"]
    inbox = sqs.create_queue(QueueName=f"{prefix}in")["QueueUrl"]
    out = sqs.create_queue(QueueName=f"{prefix}out")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    try:
        lam.create_function(
            FunctionName=f"{prefix}fn", Runtime="python3.12", Handler="fn.handler",
            Role=f"arn:aws:iam::{learner_ep.account}:role/{prefix}role", Timeout=20,
            Code={"ZipFile": _zip(HANDLER)}, Environment={"Variables": {"OUT": f"{prefix}out"}})
        lam.get_waiter("function_active_v2").wait(FunctionName=f"{prefix}fn")
        reply = json.loads(lam.invoke(FunctionName=f"{prefix}fn",
                                      Payload=b"{}")["Payload"].read())
        assert reply == {"account": learner_ep.account, "key": learner_ep.account}
        assert "Functions" in lam.list_functions() and not any(
            f["FunctionName"] == f"{prefix}fn"
            for f in client("lambda", default_ep).list_functions()["Functions"])

        uuid_ = lam.create_event_source_mapping(FunctionName=f"{prefix}fn",
                                                EventSourceArn=inbox_arn, BatchSize=1)["UUID"]
        assert _wait(lambda: lam.get_event_source_mapping(UUID=uuid_)["State"] == "Enabled",
                     30)
        sqs.send_message(QueueUrl=inbox, MessageBody="hello")
        got = _wait(lambda: sqs.receive_message(QueueUrl=out, WaitTimeSeconds=1).get(
            "Messages"), 60)
        assert got and got[0]["Body"] == f"hello by {learner_ep.account}"
        decoy_depth = client("sqs", default_ep).get_queue_attributes(
            QueueUrl=decoy, AttributeNames=["ApproximateNumberOfMessages"])
        assert decoy_depth["Attributes"]["ApproximateNumberOfMessages"] == "0"
    finally:
        Namespace(prefix, learner_ep).delete()
        Namespace(prefix, default_ep).delete()


def test_env_export_puts_the_learners_own_code_in_their_account(
        localstack: Endpoint) -> None:
    learner_ep = _as(localstack, _ids()[0])
    url = client("sqs", learner_ep).create_queue(QueueName="lab04-env")["QueueUrl"]
    code = ("import boto3; print(boto3.client('sts').get_caller_identity()['Account']); "
            "print(boto3.client('sqs').list_queues(QueueNamePrefix='lab04-')"
            ".get('QueueUrls', []))")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), **learner_ep.env()}
    try:
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=60, check=True)
        account, queues = done.stdout.splitlines()
        assert account == learner_ep.account
        assert queues == repr([url])
    finally:
        Namespace("lab04-", learner_ep).delete()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_lab05_in_a_learner_account_next_to_the_default_one(
        localstack: Endpoint, tmp_path: Path) -> None:
    """Bucket names are global: lab 05's carry the account, so two learners (and the solo
    default account) can run it on one LocalStack. (Its buckets and function, the steps
    that name them; the whole lab in a learner account is the `proven` pool's.)"""
    learner_ep = _as(localstack, _ids()[0])
    default_ep = dataclasses.replace(localstack, account="000000000000")
    taken = f"lab05-uploads-{default_ep.account}"
    client("s3", default_ep).create_bucket(Bucket=taken)
    lab = load_lab(locations.labs_dir() / "05-async-offloading")
    steps = ["storage-and-notifications", "deploy-function"]
    try:
        Namespace(lab.prefix, learner_ep).delete()
        workspace = reset_workspace(lab, tmp_path)
        apply_solution(lab, learner_ep, workspace, steps=steps)
        report = run_checks(lab, learner_ep, workspace, steps=steps)
        assert all(step.passed for step in report.steps), [
            (c.id, c.message) for step in report.steps for c in step.checks if not c.passed]
        names = client("s3", learner_ep).list_buckets()["Buckets"]
        assert f"lab05-uploads-{learner_ep.account}" in {b["Name"] for b in names}
        client("s3", default_ep).head_bucket(Bucket=taken)  # the other's bucket is intact
    finally:
        Namespace("lab05-", learner_ep).delete()
        Namespace("lab05-", default_ep).delete()
