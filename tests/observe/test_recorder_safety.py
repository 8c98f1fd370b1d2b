"""A recorder that fails must not break SQS: LocalStack's queue model, patched in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tutor.cloud import sqs_trace


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """LocalStack's SQS models with the recorder's wrappers; restored afterwards.

    Importing them builds LocalStack's internal boto3 session (never used here), which
    would read the decoy profile the suite's conftest puts in the environment.
    """
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from localstack.services.sqs import models, provider

    classes = (models.SqsQueue, models.StandardQueue, models.FifoQueue,
               provider.MessageMoveTaskManager)
    saved = [dict(vars(c)) for c in classes]
    sqs_trace.patch_sqs(provider)
    try:
        yield models
    finally:
        for cls, attrs in zip(classes, saved, strict=True):
            for name, value in attrs.items():
                if name not in ("__dict__", "__weakref__", "__doc__"):
                    setattr(cls, name, value)
        provider._tutor_traced = False


def test_patching_twice_wraps_once(patched: Any) -> None:
    from localstack.services.sqs import provider

    put = patched.StandardQueue.put
    sqs_trace.patch_sqs(provider)
    assert patched.StandardQueue.put is put


def test_a_broken_recorder_is_counted_and_sqs_carries_on(
        patched: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("recorder bug")

    monkeypatch.setattr(sqs_trace.RECORDER, "add", broken)
    before = sqs_trace.RECORDER.failures
    queue = patched.StandardQueue("safety", "us-east-1", "000000000000")
    queue.put({"MessageId": "m-1", "Body": "x", "MD5OfBody": ""})
    result = queue.receive(num_messages=1)
    assert [m.message_id for m in result.successful] == ["m-1"]
    queue.remove(result.receipt_handles[0])
    assert queue.approximate_number_of_messages == 0 and not queue.inflight
    assert sqs_trace.RECORDER.failures - before == 3  # sent, received, deleted: all failed


def test_the_in_process_model_records_each_event_once(patched: Any) -> None:
    queue = patched.StandardQueue("once", "us-east-1", "000000000000")
    since = sqs_trace.RECORDER.query(0, limit=1)["next"]
    queue.put({"MessageId": "m-2", "Body": "x", "MD5OfBody": ""})
    handle = queue.receive(num_messages=1, visibility_timeout=30).receipt_handles[0]
    queue.update_visibility_timeout(handle, 0)  # released: visible again at once
    queue.requeue_inflight_messages()  # nothing in flight any more: no expiry event
    handle = queue.receive(num_messages=1).receipt_handles[0]
    queue.remove(handle)
    queue.remove(handle)  # a second delete with the same handle is a no-op
    kinds = [(e["kind"], e["receive_count"])
             for e in sqs_trace.RECORDER.query(since, queue="once")["events"]]
    assert kinds == [("sent", 0), ("received", 1), ("visibility_changed", 1),
                     ("received", 2), ("deleted", 2)]
