"""Read the SQS lifecycle trace that the tutor's LocalStack serves, and summarise it.

The recorder lives inside LocalStack (`tutor.cloud.sqs_trace`, installed by our launcher)
and serves its ring buffer at `TRACE_PATH`. A LocalStack started some other way (Docker,
`localstack start`) has no such route: `fetch` then returns `available=False` with a
reason rather than raising, since the rest of the lab works without the trace.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

from tutor.cloud import guard
from tutor.cloud.endpoint import Endpoint
from tutor.cloud.sqs_trace import (  # noqa: F401 - re-exported: the kinds are the API
    DEDUPLICATED,
    DELETED,
    EXPIRED,
    KINDS,
    MOVED_TO_DLQ,
    PURGED,
    RECEIVED,
    REDRIVEN,
    SENT,
    TRACE_PATH,
    VISIBILITY_CHANGED,
    VISIBILITY_EXPIRED,
)
from tutor.errors import LocalStackUnreachable

TIMEOUT_S = 3.0
NOT_AVAILABLE = "message timeline needs the tutor's LocalStack (started by tutor)"

# Kinds after which the message no longer exists in that queue.
ENDING = frozenset({DELETED, MOVED_TO_DLQ, REDRIVEN, EXPIRED, PURGED})


@dataclass(frozen=True)
class TraceEvent:
    seq: int
    at: float  # epoch seconds, LocalStack's clock
    kind: str  # one of KINDS
    account: str
    region: str
    queue: str  # queue name (for moves: the queue the message left)
    message_id: str
    receive_count: int | None
    other_queue: str | None  # for moved_to_dlq / redriven: the queue it went to


@dataclass(frozen=True)
class TraceBatch:
    events: list[TraceEvent]
    next_seq: int  # pass as `since` to get only newer events
    available: bool  # False: this LocalStack has no trace (reason says why)
    reason: str = ""
    dropped: int = 0  # events lost from the ring buffer before `since` was read


def _url(endpoint: Endpoint | str) -> str:
    return (endpoint.url if isinstance(endpoint, Endpoint) else endpoint).rstrip("/")


def _event(raw: dict[str, object]) -> TraceEvent:
    rc = raw.get("receive_count")
    other = raw.get("other_queue")
    return TraceEvent(
        seq=int(str(raw["seq"])), at=float(str(raw["at"])), kind=str(raw["kind"]),
        account=str(raw.get("account", "")), region=str(raw.get("region", "")),
        queue=str(raw.get("queue", "")), message_id=str(raw.get("message_id", "")),
        receive_count=None if rc is None else int(str(rc)),
        other_queue=None if other is None else str(other))


def fetch(endpoint: Endpoint | str, since: int = 0, *, account: str | None = None,
          queue: str | None = None, limit: int = 5000) -> TraceBatch:
    """Events with seq > `since` (oldest first, at most `limit`), optionally filtered."""
    base = _url(endpoint)
    guard.check(base)
    params: dict[str, str] = {"since": str(since), "limit": str(limit)}
    if account:
        params["account"] = account
    if queue:
        params["queue"] = queue
    url = f"{base}{TRACE_PATH}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:  # 404 and friends: no route here
        return TraceBatch([], since, False, f"{NOT_AVAILABLE} (HTTP {exc.code})")
    except (urllib.error.URLError, OSError) as exc:
        raise LocalStackUnreachable(base, str(getattr(exc, "reason", exc))) from exc
    try:
        data = json.loads(body)
        events = [_event(e) for e in data["events"]]
        next_seq, dropped = int(data["next"]), int(data.get("dropped", 0))
    except (ValueError, KeyError, TypeError):
        # Something answered 200 but not with our JSON (e.g. another service's catch-all).
        return TraceBatch([], since, False, NOT_AVAILABLE)
    if data.get("enabled") is False:
        return TraceBatch([], since, False, "the SQS recorder is off in this LocalStack "
                          "(started with TUTOR_SQS_TRACE=0)")
    return TraceBatch(events, next_seq, True, "", dropped)


def rates(events: Iterable[TraceEvent], window_s: float, now: float | None = None,
          *, queue: str | None = None) -> dict[str, float]:
    """Messages sent, received and deleted per second over the last `window_s` seconds.

    `now` defaults to the newest event's time, so the figure does not depend on the
    clock skew between this machine and LocalStack's. `queue` limits it to one queue.
    """
    evs = [e for e in events if queue is None or e.queue == queue]
    counts = {SENT: 0, RECEIVED: 0, DELETED: 0}
    if not evs or window_s <= 0:
        return {k: 0.0 for k in counts}
    end = max(e.at for e in evs) if now is None else now
    start = end - window_s
    for e in evs:
        if e.kind in counts and start < e.at <= end:
            counts[e.kind] += 1
    return {k: v / window_s for k, v in counts.items()}


def oldest_age(events: Iterable[TraceEvent], now: float,
               queue: str | None = None) -> float | None:
    """Observed age in seconds of the oldest message still in `queue` (or any queue).

    A message enters a queue when sent or moved/redriven into it, and leaves it when
    deleted, moved out, expired or purged. LocalStack has no ApproximateAgeOfOldestMessage
    metric; this is the same figure as seen in the trace, which only covers what the
    ring buffer still holds (the "observed" label in the UI says so). Redriven messages
    keep their age from the original send, as in AWS.
    """
    born: dict[tuple[str, str], float] = {}  # (queue, message id) -> first sent time
    first_sent: dict[str, float] = {}  # message id -> time of its first SendMessage
    for e in sorted(events, key=lambda ev: ev.seq):
        key = (e.queue, e.message_id)
        if e.kind == SENT:
            first_sent.setdefault(e.message_id, e.at)
            born[key] = first_sent[e.message_id]
        elif e.kind in ENDING:
            start = born.pop(key, first_sent.get(e.message_id, e.at))
            if e.kind in (MOVED_TO_DLQ, REDRIVEN) and e.other_queue:
                born[(e.other_queue, e.message_id)] = start
        elif key not in born and e.kind in (RECEIVED, VISIBILITY_EXPIRED,
                                            VISIBILITY_CHANGED):
            born[key] = first_sent.get(e.message_id, e.at)  # sent before the buffer began
    ages = [now - t for (q, _), t in born.items() if queue is None or q == queue]
    return max(ages) if ages else None


class TraceLog:
    """Events gathered across polls (the newest `keep`), for screens that refresh often.

    Filters by account on the server and by queue here (a message's timeline crosses
    queues: source, DLQ and back), so one poll serves several queues.
    """

    def __init__(self, endpoint: Endpoint | str, *, account: str | None = None,
                 queues: Iterable[str] | None = None, keep: int = 20_000) -> None:
        self.endpoint = endpoint
        self.account = account
        self.queues = set(queues) if queues is not None else None
        self.keep = keep
        self.page = 5000
        self.events: list[TraceEvent] = []
        self.next_seq = 0
        self.available = True
        self.reason = ""
        self.dropped = 0  # events the ring buffer overwrote before we read them

    def _wanted(self, e: TraceEvent) -> bool:
        return self.queues is None or e.queue in self.queues or e.other_queue in self.queues

    def poll(self, max_batches: int = 10) -> list[TraceEvent]:
        """Fetch what is new (raises LocalStackUnreachable); returns the new events kept."""
        new: list[TraceEvent] = []
        for _ in range(max_batches):  # bounded catch-up after a long pause
            batch = fetch(self.endpoint, self.next_seq, account=self.account,
                          limit=self.page)
            self.available, self.reason = batch.available, batch.reason
            if not batch.available:
                break
            self.dropped += batch.dropped
            new += [e for e in batch.events if self._wanted(e)]
            more = len(batch.events) >= self.page  # a full page: there may be more
            self.next_seq = batch.next_seq
            if not more:
                break
        if new:
            self.events = (self.events + new)[-self.keep:]
        return new
