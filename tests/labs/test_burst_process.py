"""The learner's burst runs in a child process at background priority, not in the tutor's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tutor.cloud.clients import client
from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.burst_process import BACKGROUND_NICE, burst_elsewhere


@pytest.mark.localstack
def test_the_burst_sends_every_body_from_another_process(localstack: Endpoint) -> None:
    sqs = client("sqs", localstack)
    url = sqs.create_queue(QueueName=f"burst-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    try:
        result = burst_elsewhere(localstack, url, 95, body=lambda i: json.dumps({"n": i}))
        assert (result.sent, result.failed, result.errors) == (95, 0, [])
        assert result.seconds > 0
        seen: set[int] = set()
        for _ in range(40):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                      WaitTimeSeconds=1).get("Messages", [])
            seen.update(json.loads(m["Body"])["n"] for m in got)
            if len(seen) == 95:
                break
        assert seen == set(range(95))  # each body as the parent built it, once
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_an_unreachable_localstack_is_a_result_not_an_exception() -> None:
    gone = Endpoint("http://127.0.0.1:9", "test")  # nothing listens on the discard port
    result = burst_elsewhere(gone, "http://127.0.0.1:9/000000000000/q", 20)
    assert result.sent == 0 and result.failed == 20
    assert result.errors, "the reason is reported"


def test_the_child_yields_the_cpu_in_a_scheduling_group_of_its_own() -> None:
    probe = ("import os, pathlib; from tutor.engine.labs.burst_process import yield_cpu; "
             "yield_cpu(); g = pathlib.Path('/proc/self/autogroup'); "
             "print(os.nice(0), g.read_text().strip() if g.exists() else '')")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, start_new_session=True).stdout.strip().split(maxsplit=1)
    assert int(out[0]) == os.nice(0) + BACKGROUND_NICE or int(out[0]) == 19
    if Path("/proc/self/autogroup").exists() and len(out) > 1:
        assert out[1].endswith(f"nice {BACKGROUND_NICE}")  # the group, not only the thread
        # and not the tutor's group. A process in the root task group (no autogroup, as
        # under some CI runners) reads an empty file: the child's group is new either way.
        own = Path("/proc/self/autogroup").read_text().split()
        assert out[1].split()[0] != (own[0] if own else "")
