"""Lambda on the tutor's executor: cold start, warm latency, SQS event source throughput.

Run: `.venv/bin/python -m bench.bench_lambda`. Starts its own embedded LocalStack in a
temporary directory. Prints figures; asserts nothing.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import statistics
import tempfile
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tutor.cloud import clients
from tutor.cloud.embedded import EmbeddedLocalStack
from tutor.cloud.endpoint import Endpoint

ROLE = "arn:aws:iam::000000000000:role/bench"
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
WARM_RUNS = int(os.environ.get("BENCH_WARM_RUNS", "50"))
BURST = int(os.environ.get("BENCH_BURST", "500"))
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "20"))

TRIVIAL = "def handler(event, context):\n    return {'ok': True}\n"
CONSUMER = (
    "import os, time\n"
    "def handler(event, context):\n"
    "    with open(os.environ['RECORD_FILE'], 'a') as f:\n"
    "        f.write(f\"{len(event['Records'])} {time.time()}\\n\")\n"
    "    return {}\n"
)


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fn.py", source)
    return buffer.getvalue()


def _function(lam: Any, source: str, env: dict[str, str] | None = None) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                        Handler="fn.handler", Code={"ZipFile": _zip(source)},
                        Environment={"Variables": env or {}}, Timeout=30)
    for _ in range(200):
        if lam.get_function_configuration(FunctionName=name)["State"] != "Pending":
            break
        time.sleep(0.05)
    return name


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def cold_start(lam: Any) -> None:
    totals, inits = [], []
    for _ in range(COLD_RUNS):
        name = _function(lam, TRIVIAL)
        start = time.perf_counter()
        reply = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
        totals.append(time.perf_counter() - start)
        log = base64.b64decode(reply.get("LogResult", "")).decode()
        found = re.search(r"Init Duration: ([\d.]+) ms", log)
        if found:
            inits.append(float(found.group(1)) / 1000)
        lam.delete_function(FunctionName=name)
    print(f"cold start, first invoke as the client sees it: median {_ms(statistics.median(totals))}"
          f" (min {_ms(min(totals))}, max {_ms(max(totals))}, {COLD_RUNS} functions)")
    if inits:
        print(f"  of which runtime init (process start + handler import): median "
              f"{_ms(statistics.median(inits))}")


def warm_latency(lam: Any) -> None:
    name = _function(lam, TRIVIAL)
    lam.invoke(FunctionName=name, Payload=b"{}")  # make it warm
    times = []
    for _ in range(WARM_RUNS):
        start = time.perf_counter()
        lam.invoke(FunctionName=name, Payload=b"{}")
        times.append(time.perf_counter() - start)
    print(f"warm invoke latency over {WARM_RUNS}: median {_ms(statistics.median(times))}, "
          f"p95 {_ms(_p95(times))}")
    lam.delete_function(FunctionName=name)


def _send_burst(sqs: Any, url: str) -> float:
    def send(start: int) -> None:
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": json.dumps({"n": start + i})} for i in range(10)])

    began = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(0, BURST, 10)))
    return time.perf_counter() - began


def _queue(sqs: Any) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, arn["Attributes"]["QueueArn"]


def throughput(endpoint: Endpoint, lam: Any, workdir: Path) -> None:
    sqs = clients.client("sqs", endpoint)
    # Without Lambda: one consumer receiving 10 at a time and deleting in batches.
    url, _ = _queue(sqs)
    sent = _send_burst(sqs, url)
    began, got = time.perf_counter(), 0
    while got < BURST:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", [])
        if messages:
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)])
        got += len(messages)
    plain = BURST / (time.perf_counter() - began)
    sqs.delete_queue(QueueUrl=url)

    # Through LocalStack's event source mapping into a function, batch size 10.
    record = workdir / "batches.txt"
    name = _function(lam, CONSUMER, {"RECORD_FILE": str(record)})
    url, arn = _queue(sqs)
    _send_burst(sqs, url)
    began = time.perf_counter()
    esm = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=10)
    rows: list[tuple[int, float]] = []
    deadline = began + 300
    while sum(n for n, _ in rows) < BURST and time.perf_counter() < deadline:
        time.sleep(0.05)
        lines = record.read_text().splitlines() if record.exists() else []
        rows = [(int(n), float(t)) for n, t in (line.split() for line in lines)]
    done, batches = sum(n for n, _ in rows), len(rows)
    with_lambda = done / (time.perf_counter() - began)
    # Steady state: from the first batch handled to the last (no mapping start-up).
    span = rows[-1][1] - rows[0][1] if len(rows) > 1 else 0.0
    steady = (done - rows[0][0]) / span if span > 0 else float("nan")
    # An idle mapping backs off between empty polls: how long until one new message runs?
    time.sleep(IDLE_SECONDS)
    sent_at = time.time()
    sqs.send_message(QueueUrl=url, MessageBody="late")
    pickup = float("nan")
    while time.time() < sent_at + 60:
        lines = record.read_text().splitlines()
        if len(lines) > batches:
            pickup = float(lines[-1].split()[1]) - sent_at
            break
        time.sleep(0.05)
    lam.delete_event_source_mapping(UUID=esm["UUID"])
    lam.delete_function(FunctionName=name)
    sqs.delete_queue(QueueUrl=url)

    print(f"burst of {BURST}: sent in {_ms(sent)} ({BURST / sent:.0f} msg/s, 8 threads x "
          "SendMessageBatch)")
    print(f"  received+deleted without Lambda (1 consumer, 10/receive): {plain:.0f} msg/s")
    settings = _embedded_settings()
    interval = settings.get("LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC", "1 (default)")
    print(f"  through the SQS event source mapping, batch size 10: {with_lambda:.0f} msg/s "
          f"overall, {steady:.0f} msg/s steady ({done} messages in {batches} invokes; "
          f"LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC={interval})")
    print(f"  ratio Lambda / plain consumer: {with_lambda / plain:.2f} overall, "
          f"{steady / plain:.2f} steady")
    backoff = settings.get("LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC",
                           "10 (default)")
    print(f"one message sent to a mapping idle for {IDLE_SECONDS:.0f} s reached the handler "
          f"after {_ms(pickup)} (LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC="
          f"{backoff})")


def _embedded_settings() -> dict[str, str]:
    """The environment the embedded LocalStack really runs with (not this process's)."""
    import tempfile
    from pathlib import Path

    from tutor.cloud.embedded import localstack_env

    with tempfile.TemporaryDirectory() as tmp:
        return localstack_env(0, Path(tmp))


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as tmp:
        embedded = EmbeddedLocalStack(data=Path(tmp) / "localstack")
        began = time.perf_counter()
        endpoint = embedded.start()
        print(f"LocalStack {endpoint.url} up in {_ms(time.perf_counter() - began)}")
        try:
            lam = clients.client("lambda", endpoint, read_timeout=60)
            cold_start(lam)
            warm_latency(lam)
            throughput(endpoint, lam, Path(tmp))
        finally:
            embedded.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
