"""The burst generator: N messages into a queue with SendMessageBatch from several threads."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tutor.cloud.endpoint import Endpoint


@dataclass
class BurstResult:
    sent: int
    failed: int
    seconds: float
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def _default_body(index: int) -> str:
    return f'{{"seq": {index}}}'


def burst(endpoint: Endpoint, queue_url: str, count: int, *, rate: float | None = None,
          body: Callable[[int], str] | None = None, threads: int = 8) -> BurstResult:
    """Send `count` messages in batches of 10 from `threads` threads, paced to `rate`/s.

    Bodies are built before the clock starts, so the measured time is sending only.
    Pacing schedules batch k at start + 10k/rate, which holds the average rate without
    making one slow request delay the others.
    """
    from tutor.cloud.clients import client

    make = body or _default_body
    entries = [{"Id": str(i % 10), "MessageBody": make(i)} for i in range(count)]
    batches = [entries[i:i + 10] for i in range(0, count, 10)]
    sqs = client("sqs", endpoint, read_timeout=15.0)
    next_batch = itertools.count()
    lock = threading.Lock()
    totals = {"sent": 0, "failed": 0}
    errors: list[str] = []
    start = time.monotonic()

    def work() -> None:
        sent = failed = 0
        while True:
            k = next(next_batch)
            if k >= len(batches):
                break
            if rate:
                delay = start + (k * 10) / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            try:
                response = sqs.send_message_batch(QueueUrl=queue_url, Entries=batches[k])
            except Exception as exc:  # counted and reported, never raised from a thread
                failed += len(batches[k])
                with lock:
                    if len(errors) < 5:
                        errors.append(f"{type(exc).__name__}: {exc}")
                continue
            sent += len(response.get("Successful", []))
            failed += len(response.get("Failed", []))
        with lock:
            totals["sent"] += sent
            totals["failed"] += failed

    pool = [threading.Thread(target=work, daemon=True) for _ in range(max(1, threads))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    return BurstResult(totals["sent"], totals["failed"], time.monotonic() - start, errors)
