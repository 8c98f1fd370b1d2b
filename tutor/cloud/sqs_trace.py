"""Record every SQS message lifecycle event inside LocalStack, and serve them over HTTP.

Runs inside the LocalStack process that `tutor.cloud.localstack_main` starts: `patch_sqs`
wraps the few SqsQueue methods where a message's life changes (each event is caught in
exactly one place, see the table below) and `add_route` serves the ring buffer at
`TRACE_PATH`. The recorder must never break SQS: every recording step is guarded, and a
failure only increments `Recorder.failures` (served with the events).

    sent                put (StandardQueue/FifoQueue), not a FIFO duplicate
    deduplicated        put of a FIFO duplicate (the id is the original message's)
    received            receive, each successful message, with ApproximateReceiveCount
    visibility_expired  requeue_inflight_messages: in flight -> visible again
    visibility_changed  update_visibility_timeout (ChangeMessageVisibility[Batch])
    deleted             remove (DeleteMessage[Batch]), once per message
    moved_to_dlq        receive: the messages past maxReceiveCount (the provider then
                        puts them into the DLQ; that put is not a "sent")
    redriven            MessageMoveTaskManager._run: its receive/put/remove is one event
    expired             remove_expired_messages (only if SQS_ENABLE_MESSAGE_RETENTION_PERIOD)
    purged              clear (PurgeQueue), once per message still in the queue

This module imports nothing from LocalStack at module level, so the engine can read its
constants and tests can use `Recorder` alone.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

TRACE_PATH = "/_tutor/sqs-trace"
ENABLE_ENV = "TUTOR_SQS_TRACE"  # "0" turns the recorder off (the overhead benchmark)
SIZE_ENV = "TUTOR_SQS_TRACE_SIZE"
DEFAULT_CAPACITY = 100_000
MAX_LIMIT = 50_000

SENT = "sent"
DEDUPLICATED = "deduplicated"
RECEIVED = "received"
VISIBILITY_EXPIRED = "visibility_expired"
VISIBILITY_CHANGED = "visibility_changed"
DELETED = "deleted"
MOVED_TO_DLQ = "moved_to_dlq"
REDRIVEN = "redriven"
EXPIRED = "expired"
PURGED = "purged"
KINDS = (SENT, DEDUPLICATED, RECEIVED, VISIBILITY_EXPIRED, VISIBILITY_CHANGED, DELETED,
         MOVED_TO_DLQ, REDRIVEN, EXPIRED, PURGED)
FIELDS = ("seq", "at", "kind", "account", "region", "queue", "message_id", "receive_count",
          "other_queue")

Event = tuple[int, float, str, str, str, str, str, int | None, str | None]


class Recorder:
    """A bounded, thread-safe ring buffer of events with contiguous sequence numbers."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(1, capacity)
        self._events: deque[Event] = deque(maxlen=self.capacity)
        self._lock = threading.Lock()
        self._seq = 0
        self.failures = 0  # recording steps that raised (SQS carried on regardless)

    def add(self, kind: str, account: str, region: str, queue: str, message_id: str,
            receive_count: int | None = None, other_queue: str | None = None) -> None:
        with self._lock:
            self._seq += 1
            self._events.append((self._seq, time.time(), kind, account, region, queue,
                                 message_id, receive_count, other_queue))

    def query(self, since: int = 0, *, account: str | None = None, queue: str | None = None,
              limit: int = 5000) -> dict[str, Any]:
        """Events with seq > since (oldest first), as the route serves them.

        `next` is the seq to ask from next time; `dropped` counts events after `since`
        that the ring buffer already overwrote.
        """
        limit = max(1, min(limit, MAX_LIMIT))
        out: list[dict[str, Any]] = []
        with self._lock:
            newest = self._seq
            first = self._events[0][0] if self._events else newest + 1
            dropped = max(0, first - 1 - max(since, 0))
            next_seq = newest
            start = max(0, since - first + 1)
            for ev in islice(self._events, start, None):
                if account and ev[3] != account:
                    continue
                if queue and ev[5] != queue and ev[8] != queue:
                    continue
                out.append(dict(zip(FIELDS, ev, strict=True)))
                if len(out) >= limit:
                    next_seq = ev[0]
                    break
        return {"events": out, "next": max(next_seq, since), "dropped": dropped,
                "failures": self.failures, "capacity": self.capacity}


RECORDER = Recorder(int(os.environ.get(SIZE_ENV, "") or DEFAULT_CAPACITY))
_local = threading.local()  # per-thread context: inside a move task, a DLQ move, an expiry


def enabled() -> bool:
    return os.environ.get(ENABLE_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def _count(msg: Any) -> int | None:
    try:
        return int(msg.message["Attributes"].get("ApproximateReceiveCount", "0"))
    except Exception:
        return None


def _record(kind: str, queue: Any, msg: Any, other: str | None = None) -> None:
    try:
        RECORDER.add(kind, queue.account_id, queue.region, queue.name, msg.message_id,
                     _count(msg), other)
    except Exception:
        RECORDER.failures += 1


def _guarded(step: Callable[[], None]) -> None:  # for the cold paths
    try:
        step()
    except Exception:
        RECORDER.failures += 1


def _wrap_put(orig: Callable[..., Any]) -> Callable[..., Any]:
    def put(self: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
        result = orig(self, message, *args, **kwargs)
        try:  # hot path: inline, no closure
            source = getattr(_local, "move_source", None)
            if source is not None:  # the put half of a message move task
                _record(REDRIVEN, source, result, self.name)
            elif result.message_id in getattr(_local, "dlq_ids", ()):
                _local.dlq_ids.discard(result.message_id)  # the provider's DLQ put
            elif (fifo := getattr(self, "deduplication", None)) is not None and (
                    fifo.get(result.message_deduplication_id) is not result):
                # a FIFO duplicate: returned (with the original's id) but never stored
                _record(DEDUPLICATED, self, result)
            else:
                _record(SENT, self, result)
        except Exception:
            RECORDER.failures += 1
        return result
    return put


def _wrap_receive(orig: Callable[..., Any]) -> Callable[..., Any]:
    def receive(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = orig(self, *args, **kwargs)
        try:
            if getattr(_local, "moving", False):  # a move task reading the DLQ
                _local.move_source = self if result.successful else None
                return result
            for msg in result.successful:
                _record(RECEIVED, self, msg)
            if result.dead_letter_messages:
                target = str(self.redrive_policy["deadLetterTargetArn"]).rsplit(":", 1)[-1]
                _local.dlq_ids = {m.message_id for m in result.dead_letter_messages}
                for msg in result.dead_letter_messages:
                    _record(MOVED_TO_DLQ, self, msg, target)
        except Exception:
            RECORDER.failures += 1
        return result
    return receive


def _wrap_remove(orig: Callable[..., Any]) -> Callable[..., Any]:
    def remove(self: Any, receipt_handle: str) -> Any:
        msg = None
        try:
            msg = self.receipts.get(receipt_handle)
            if msg is not None and msg.deleted:
                msg = None
        except Exception:
            RECORDER.failures += 1
        result = orig(self, receipt_handle)
        if msg is not None and getattr(msg, "deleted", False):
            if getattr(_local, "move_source", None) is not None:
                _local.move_source = None  # the remove half of a move: already redriven
            else:
                _record(DELETED, self, msg)
        return result
    return remove


def _wrap_requeue(orig: Callable[..., Any]) -> Callable[..., Any]:
    def requeue_inflight_messages(self: Any) -> Any:
        if not self.inflight:
            return orig(self)
        with self.mutex:  # an RLock: the original takes it again
            before: list[Any] = []
            try:  # receive adds to inflight without the mutex: this copy may race
                before = list(self.inflight)
            except Exception:
                RECORDER.failures += 1
            result = orig(self)

            def step() -> None:
                for msg in before:
                    if msg not in self.inflight and not msg.deleted:
                        _record(VISIBILITY_EXPIRED, self, msg)
            _guarded(step)
        return result
    return requeue_inflight_messages


def _wrap_visibility(orig: Callable[..., Any]) -> Callable[..., Any]:
    def update_visibility_timeout(self: Any, receipt_handle: str, timeout: int) -> Any:
        msg = None
        try:
            msg = self.receipts.get(receipt_handle)
            if msg is not None and msg not in self.inflight:
                msg = None  # the original ignores it too
        except Exception:
            RECORDER.failures += 1
        result = orig(self, receipt_handle, timeout)
        if msg is not None:
            _record(VISIBILITY_CHANGED, self, msg)
        return result
    return update_visibility_timeout


def _queued(queue: Any) -> Iterable[Any]:
    groups = getattr(queue, "message_groups", None)
    if groups is not None:
        for group in list(groups.values()):
            yield from group.messages
    else:
        yield from queue.visible.queue
    yield from queue.inflight
    yield from queue.delayed


def _wrap_clear(orig: Callable[..., Any]) -> Callable[..., Any]:
    def clear(self: Any) -> Any:
        with self.mutex:
            found: dict[str, Any] = {}
            try:
                found = {m.message_id: m for m in _queued(self) if not m.deleted}
            except Exception:
                RECORDER.failures += 1
            result = orig(self)
        for msg in found.values():
            _record(PURGED, self, msg)
        return result
    return clear


def _wrap_expire(orig: Callable[..., Any]) -> Callable[..., Any]:
    def remove_expired_messages(self: Any) -> Any:
        _local.expiring = self
        try:
            return orig(self)
        finally:
            _local.expiring = None
    return remove_expired_messages


def _wrap_expired_heap(orig: Callable[..., Any]) -> Callable[..., Any]:
    def remove_expired_messages_from_heap(heap: Any, period: int) -> Any:
        expired = orig(heap, period)
        queue = getattr(_local, "expiring", None)

        def step() -> None:
            for msg in expired:
                if not msg.deleted:
                    _record(EXPIRED, queue, msg)
        if queue is not None:
            _guarded(step)
        return expired
    return remove_expired_messages_from_heap


def _wrap_move(orig: Callable[..., Any]) -> Callable[..., Any]:
    def _run(self: Any, move_task: Any) -> Any:
        _local.moving = True
        try:
            return orig(self, move_task)
        finally:
            _local.moving = False
            _local.move_source = None
    return _run


def patch_sqs(provider: Any) -> None:
    """Wrap the SQS model methods (call once, with `localstack.services.sqs.provider`)."""
    if not enabled() or getattr(provider, "_tutor_traced", False):
        return
    from localstack.services.sqs import models

    std, fifo, base = models.StandardQueue, models.FifoQueue, models.SqsQueue
    wraps: list[tuple[type, str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = [
        (cls, name, wrap) for cls in (std, fifo) for name, wrap in (
            ("put", _wrap_put), ("receive", _wrap_receive), ("clear", _wrap_clear),
            ("remove_expired_messages", _wrap_expire))]
    wraps += [
        # FifoQueue.remove calls super().remove: wrapping the base catches both, once.
        (base, "remove", _wrap_remove),
        (base, "update_visibility_timeout", _wrap_visibility),
        (base, "requeue_inflight_messages", _wrap_requeue),
        (fifo, "requeue_inflight_messages", _wrap_requeue),
        (provider.MessageMoveTaskManager, "_run", _wrap_move),
    ]
    for cls, name, wrap in wraps:
        setattr(cls, name, wrap(cls.__dict__[name]))
    heap = base.__dict__["remove_expired_messages_from_heap"].__func__
    base.remove_expired_messages_from_heap = staticmethod(  # type: ignore[method-assign]
        _wrap_expired_heap(heap))
    provider._tutor_traced = True


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def serve(request: Any, **_: Any) -> Any:
    """GET TRACE_PATH?since=&account=&queue=&limit= -> JSON {events, next, dropped, ...}."""
    from localstack.http import Response

    args = request.args
    body = RECORDER.query(_int(args.get("since"), 0), account=args.get("account") or None,
                          queue=args.get("queue") or None,
                          limit=_int(args.get("limit"), 5000))
    body["enabled"] = enabled()
    return Response(json.dumps(body), mimetype="application/json")


FAULTS_PATH = "/_tutor/faults"


def serve_faults(request: Any, **_: Any) -> Any:
    """GET FAULTS_PATH -> {"dir": ...}: where Lambda handlers read their fault plans
    (null: this LocalStack runs without the tutor's hook in its functions)."""
    from localstack.http import Response

    where = os.environ.get("TUTOR_FAULTS_DIR", "").strip() or None
    return Response(json.dumps({"dir": where}), mimetype="application/json")


def add_route(edge: Any) -> None:
    """Register `serve` on LocalStack's edge router (call with `localstack.services.edge`)."""
    edge.ROUTER.add(TRACE_PATH, endpoint=serve, methods=["GET"])
    edge.ROUTER.add(FAULTS_PATH, endpoint=serve_faults, methods=["GET"])
