"""One message's observed life (sent ... deleted), each step tied to the exam pointer it shows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tutor.engine.observe.trace import (
    DEDUPLICATED,
    DELETED,
    EXPIRED,
    MOVED_TO_DLQ,
    PURGED,
    RECEIVED,
    REDRIVEN,
    SENT,
    VISIBILITY_CHANGED,
    VISIBILITY_EXPIRED,
    TraceEvent,
)


@dataclass(frozen=True)
class Pointer:
    tag: str | None  # the quiz taxonomy tag (tutor.engine.quiz.taxonomy.TAGS), if one fits
    text: str


# What each kind of event illustrates, for the exam.
POINTERS: dict[str, Pointer] = {
    SENT: Pointer("retention", "stored until deleted or until MessageRetentionPeriod "
                  "ends (4 days by default, 14 at most)"),
    RECEIVED: Pointer("visibility-timeout", "received: hidden from other consumers for "
                      "the visibility timeout"),
    VISIBILITY_EXPIRED: Pointer("visibility-timeout", "visibility timeout shorter than "
                                "processing time: the message came back"),
    VISIBILITY_CHANGED: Pointer("visibility-timeout", "ChangeMessageVisibility: extend "
                                "the timeout while working, or 0 to release it now"),
    DELETED: Pointer(None, "only DeleteMessage ends a message's life"),
    MOVED_TO_DLQ: Pointer("dlq", "maxReceiveCount reached: the redrive policy moved it "
                          "to the DLQ"),
    REDRIVEN: Pointer("redrive", "DLQ redrive (StartMessageMoveTask) back to the source"),
    EXPIRED: Pointer("retention", "MessageRetentionPeriod passed: SQS dropped it "
                     "unprocessed"),
    PURGED: Pointer(None, "PurgeQueue deleted every message in the queue"),
    DEDUPLICATED: Pointer("deduplication", "FIFO deduplication: the same deduplication "
                          "id within 5 minutes is accepted but not enqueued again"),
}
REDELIVERED = Pointer("idempotency", "at-least-once delivery: consumers must be idempotent")
REDRIVEN_ELSEWHERE = Pointer("redrive", "StartMessageMoveTask moved it to another queue")

# State of a message after an event of each kind (DEDUPLICATED changes nothing).
_STATE = {SENT: "visible", RECEIVED: "in flight", VISIBILITY_EXPIRED: "visible",
          VISIBILITY_CHANGED: "in flight", DELETED: "deleted", MOVED_TO_DLQ: "in DLQ",
          REDRIVEN: "visible", EXPIRED: "expired", PURGED: "purged"}


@dataclass(frozen=True)
class Step:
    event: TraceEvent
    offset: float  # seconds since the message's first event
    title: str  # what happened, e.g. "received #2", "moved to DLQ orders-dlq"
    pointer: Pointer


@dataclass(frozen=True)
class MessageSummary:
    message_id: str
    queue: str  # the queue it is in now (or was in last)
    state: str  # visible, in flight, in DLQ, deleted, expired, purged
    receive_count: int
    first_at: float
    last_at: float


def _title(e: TraceEvent) -> str:
    if e.kind == RECEIVED:
        return f"received #{e.receive_count}" if e.receive_count else "received"
    if e.kind == MOVED_TO_DLQ:
        return f"moved to DLQ {e.other_queue}"
    if e.kind == REDRIVEN:
        return f"redriven to {e.other_queue}"
    if e.kind == DEDUPLICATED:
        return "sent again (deduplicated)"
    return e.kind.replace("_", " ")


def pointer_for(e: TraceEvent, sources: Iterable[str] = ()) -> Pointer:
    """The pointer an event illustrates; `sources` are queues it was moved to a DLQ from."""
    if e.kind == RECEIVED and (e.receive_count or 0) > 1:
        return REDELIVERED
    if e.kind == REDRIVEN and e.other_queue not in set(sources):
        return REDRIVEN_ELSEWHERE
    return POINTERS.get(e.kind, Pointer(None, e.kind))


def lifecycle(events: Iterable[TraceEvent], message_id: str,
              account: str | None = None) -> list[Step]:
    """The steps of one message, oldest first, across every queue it passed through."""
    mine = sorted((e for e in events if e.message_id == message_id
                   and (account is None or e.account == account)), key=lambda e: e.seq)
    if not mine:
        return []
    start = mine[0].at
    sources: list[str] = []
    steps = []
    for e in mine:
        if e.kind == MOVED_TO_DLQ:
            sources.append(e.queue)
        steps.append(Step(e, e.at - start, _title(e), pointer_for(e, sources)))
    return steps


def recent_messages(events: Iterable[TraceEvent], queues: Iterable[str] | None = None,
                    limit: int = 200) -> list[MessageSummary]:
    """Messages seen in `queues` (all when None), newest first, for a picker."""
    wanted = set(queues) if queues is not None else None
    ordered_events = sorted(events, key=lambda ev: ev.seq)
    # A message that ever touched the queues is listed with its whole story (its state
    # after a redrive out of the DLQ is decided in the source queue).
    keys = {(e.account, e.message_id) for e in ordered_events
            if wanted is None or e.queue in wanted or e.other_queue in wanted}
    found: dict[tuple[str, str], MessageSummary] = {}
    for e in ordered_events:
        key = (e.account, e.message_id)
        if key not in keys:
            continue
        old = found.get(key)
        queue = e.other_queue if e.kind in (MOVED_TO_DLQ, REDRIVEN) and e.other_queue \
            else e.queue
        state = _STATE.get(e.kind)
        if old is None:
            found[key] = MessageSummary(e.message_id, queue, state or "visible",
                                        e.receive_count or 0, e.at, e.at)
            continue
        found[key] = MessageSummary(
            e.message_id, queue if state else old.queue, state or old.state,
            max(old.receive_count, e.receive_count or 0), old.first_at, e.at)
    ordered = sorted(found.values(), key=lambda m: m.first_at, reverse=True)
    return ordered[:limit]
