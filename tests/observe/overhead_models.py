"""Recorder overhead where it is paid: LocalStack's SQS queue model, in this process.

Run: `.venv/bin/python -m tests.observe.overhead_models [messages] [rounds]`.
Pushes messages through StandardQueue put / receive(10) / remove directly (no HTTP, no
botocore, so the shared machine's noise does not hide the cost), alternating rounds
without and with `sqs_trace.patch_sqs`, and prints microseconds per message for each.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid


def loop(models: object, messages: int) -> float:
    """CPU microseconds per message (this process) for put + receive + remove."""
    queue = models.StandardQueue(f"b{uuid.uuid4().hex[:6]}", "us-east-1",  # type: ignore[attr-defined]
                                 "000000000000")
    start = time.process_time()
    for i in range(messages):
        queue.put({"MessageId": str(uuid.uuid4()), "Body": str(i), "MD5OfBody": ""})
    left = messages
    while left > 0:
        result = queue.receive(num_messages=10)
        if not result.successful:
            break
        for handle in result.receipt_handles:
            queue.remove(handle)
        left -= len(result.successful)
    elapsed = time.process_time() - start
    assert left == 0
    return elapsed / messages * 1e6


def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    from localstack.services.sqs import models, provider

    from tutor.cloud import sqs_trace

    classes = (models.SqsQueue, models.StandardQueue, models.FifoQueue)
    plain = [dict(vars(c)) for c in classes]
    sqs_trace.patch_sqs(provider)
    traced = [dict(vars(c)) for c in classes]

    def use(state: list[dict[str, object]]) -> None:
        for cls, attrs in zip(classes, state, strict=True):
            for name, value in attrs.items():
                if name not in ("__dict__", "__weakref__", "__doc__"):
                    setattr(cls, name, value)

    # Alternate off/on rounds: other processes share the machine, and a slow spell
    # should hit both sides.
    off: list[float] = []
    on: list[float] = []
    loop(models, 1000)
    for _ in range(rounds):
        use(plain)
        off.append(loop(models, messages))
        use(traced)
        on.append(loop(models, messages))
    events = sqs_trace.RECORDER.query(0, limit=1)
    assert events["events"], "the patched model recorded nothing"
    print(f"{messages} messages x {rounds} rounds through StandardQueue put/receive/remove")
    print("rounds off: " + " ".join(f"{x:.0f}" for x in off))
    print("rounds on:  " + " ".join(f"{x:.0f}" for x in on))
    print(f"recorder off: median {statistics.median(off):.1f} us/message")
    print(f"recorder on:  median {statistics.median(on):.1f} us/message "
          f"(+{statistics.median(on) - statistics.median(off):.1f} us, 3 events per message, "
          f"failures {sqs_trace.RECORDER.failures})")


if __name__ == "__main__":
    main()
