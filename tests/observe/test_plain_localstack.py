"""A LocalStack not started by the tutor's launcher (as in Docker) has no trace route."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.cloud.clients import client
from tutor.cloud.embedded import EmbeddedLocalStack
from tutor.engine.observe.trace import NOT_AVAILABLE, TraceLog, fetch
from tutor.errors import LocalStackUnreachable


@pytest.mark.slow
def test_plain_localstack_says_the_timeline_needs_the_tutors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same LocalStack 4.14 code, started by its own entry point instead of ours.
    monkeypatch.setenv("TUTOR_LOCALSTACK_MODULE", "localstack.runtime.main")
    plain = EmbeddedLocalStack(data=tmp_path / "plain")
    endpoint = plain.start()
    try:
        sqs = client("sqs", endpoint)
        url = sqs.create_queue(QueueName="plain-q")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="x")  # SQS itself works as usual
        # A just-booted LocalStack beside the whole suite can take longer than the trace's
        # 3 s read timeout to answer a first unknown route: a poll would simply come back.
        for attempt in range(3):
            try:
                batch = fetch(endpoint)
                break
            except LocalStackUnreachable:
                if attempt == 2:
                    raise
        assert not batch.available and batch.reason.startswith(NOT_AVAILABLE)
        log = TraceLog(endpoint, queues=["plain-q"])
        assert log.poll() == [] and not log.available and NOT_AVAILABLE in log.reason
    finally:
        plain.stop()
