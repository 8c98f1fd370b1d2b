"""Recorder overhead: msg/s through a real LocalStack with and without the SQS trace.

Run: `.venv/bin/python -m tests.observe.overhead [messages] [rounds]` from the checkout.
Starts an embedded LocalStack per configuration (recorder on, TUTOR_SQS_TRACE=0 off),
alternating, and pushes `messages` through SendMessageBatch / ReceiveMessage(10) /
DeleteMessageBatch. Prints msg/s and LocalStack's CPU time per message (the figure a
loaded machine disturbs least) for each, and the ratios of the medians.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

from tutor.cloud.clients import clear_cache, client
from tutor.cloud.embedded import EmbeddedLocalStack
from tutor.cloud.endpoint import Endpoint


def cpu_seconds(pid: int | None) -> float:
    """CPU time used so far by LocalStack (the process and its children)."""
    if pid is None:
        return 0.0
    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def run_loop(endpoint: Endpoint, messages: int) -> float:
    """msg/s for `messages` sent in batches of 10, then received and deleted in tens."""
    sqs = client("sqs", endpoint)
    url = sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    start = time.perf_counter()
    for b in range(messages // 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": f"m{b}-{i}"} for i in range(10)])
    done = 0
    for _ in range(messages):  # bounded: at most one round trip per message
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
        done += len(got)
    elapsed = time.perf_counter() - start
    sqs.delete_queue(QueueUrl=url)
    if done != messages:
        raise SystemExit(f"only {done} of {messages} messages came back")
    return messages / elapsed


def measure(trace_on: bool, messages: int, root: Path) -> tuple[float, float]:
    """(msg/s, LocalStack CPU microseconds per message) for one fresh LocalStack."""
    os.environ["TUTOR_SQS_TRACE"] = "1" if trace_on else "0"
    ls = EmbeddedLocalStack(data=root / ("on" if trace_on else "off") / uuid.uuid4().hex[:6])
    try:
        endpoint = ls.start()
        clear_cache()
        run_loop(endpoint, 200)  # warm-up: lazy SQS provider load, connection pool
        cpu = cpu_seconds(ls.pid)
        rate = run_loop(endpoint, messages)
        return rate, (cpu_seconds(ls.pid) - cpu) / messages * 1e6
    finally:
        ls.stop()
        os.environ.pop("TUTOR_SQS_TRACE", None)


def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    on: list[tuple[float, float]] = []
    off: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="tutor-trace-bench-") as tmp:
        for r in range(rounds):  # alternate which goes first: the machine's load drifts
            for trace_on in ((False, True) if r % 2 == 0 else (True, False)):
                (on if trace_on else off).append(measure(trace_on, messages, Path(tmp)))
    print(f"{messages} messages, {rounds} rounds each (send batch 10, receive 10, delete batch)")
    for label, runs in (("off", off), ("on ", on)):
        print(f"recorder {label}: " + ", ".join(f"{r:.0f} msg/s ({c:.0f} us CPU/msg)"
                                               for r, c in runs))
    rate = statistics.median(r for r, _ in on) / statistics.median(r for r, _ in off)
    cpu = statistics.median(c for _, c in on) / statistics.median(c for _, c in off)
    print(f"on/off ratio of the medians: throughput {rate:.3f}, LocalStack CPU per message "
          f"{cpu:.3f}")


if __name__ == "__main__":
    main()
