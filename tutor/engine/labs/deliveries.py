"""One queue's deliveries as the tutor's LocalStack traces them: what was received, how
often, and what was deleted. Checks of a Lambda consumer (labs 05 and 06) read it to tell a
batch still being worked on from messages waiting out their visibility timeout."""

from __future__ import annotations

import time
from collections import Counter

from tutor.cloud.endpoint import Endpoint
from tutor.engine.observe import trace

PAGE = 5000  # events per trace request; at most PAGES of them per read()
PAGES = 5


class Deliveries:
    """Reads the SQS lifecycle trace of `queue` from `since` (a wall-clock time) on, a page
    at a time. `available` turns False, for good, where LocalStack has no trace (not the
    tutor's own); then `held()` and `idle_for()` are None."""

    def __init__(self, endpoint: Endpoint, queue: str, since: float) -> None:
        self.endpoint, self.queue, self.since = endpoint, queue, since
        self.available = True
        self.seq = 0
        self.received: Counter[str] = Counter()  # receives per message id
        self.received_at: dict[str, float] = {}  # the latest receive of each message
        self.ended: set[str] = set()  # deleted, moved to a DLQ, expired, purged
        self.receives = 0  # ReceiveMessage calls that returned messages: Lambda's batches
        self._last: tuple[int, float] = (-10, 0.0)

    def read(self) -> None:
        """Take in the events recorded since the last read (bounded paging)."""
        for _ in range(PAGES):
            if not self.available:
                return
            batch = trace.fetch(self.endpoint, self.seq, account=self.endpoint.account,
                                queue=self.queue, limit=PAGE)
            if not batch.available:
                self.available = False
                return
            for event in batch.events:
                if event.at < self.since or event.queue != self.queue:
                    continue
                if event.kind == trace.RECEIVED:
                    self.received[event.message_id] += 1
                    self.received_at[event.message_id] = event.at
                    # One receive call records its messages one after the other; when in
                    # doubt count two calls (a wait for them all only gets longer).
                    seq, at = self._last
                    if event.seq != seq + 1 or event.at - at > 0.003:
                        self.receives += 1
                    self._last = (event.seq, event.at)
                elif event.kind in trace.ENDING:
                    self.ended.add(event.message_id)
            last, self.seq = self.seq, batch.next_seq
            if batch.next_seq == last or len(batch.events) < PAGE:
                return

    def held(self) -> set[str] | None:
        """Received and never deleted: back after the visibility timeout (None: no trace)."""
        return set(self.received) - self.ended if self.available else None

    def idle_for(self) -> float | None:
        """Seconds since the newest receive of a message still held; infinite when none
        is held (None: no trace)."""
        held = self.held()
        if held is None:
            return None
        latest = max((self.received_at.get(m, 0.0) for m in held), default=0.0)
        return time.time() - latest if latest else float("inf")

    def redelivered(self) -> int:
        """Messages received more than once (SQS delivered them again)."""
        return sum(1 for count in self.received.values() if count > 1)
