"""Lab figures: every check's time (median, max per lab), each lab's self-test, burst throughput.

Run: `.venv/bin/python -m bench.bench_labs` (starts its own embedded LocalStack).
BENCH_LABS=02,04 proves only some labs (`none`: the burst figure only); BENCH_BURST=3000
sets the burst size, BENCH_ROUNDS=5 the rounds. Prints figures; asserts nothing. The burst
target: at least 0.9 of a plain multi-threaded SendMessageBatch loop in the same run.
"""

from __future__ import annotations

import itertools
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from tutor import locations
from tutor.cloud.clients import client
from tutor.cloud.embedded import EmbeddedLocalStack
from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.burst import burst
from tutor.engine.labs.loader import get_lab, lab_dirs, load_lab
from tutor.engine.labs.selftest import selftest_lab

BURST = int(os.environ.get("BENCH_BURST", "3000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
THREADS = 8


def plain_loop(endpoint: Endpoint, url: str, count: int) -> float:
    """The reference: 8 threads, SendMessageBatch of 10, nothing else. Returns msg/s."""
    sqs = client("sqs", endpoint, read_timeout=15.0)
    batches = [[{"Id": str(j), "MessageBody": f'{{"seq": {i + j}}}'} for j in range(10)]
               for i in range(0, count, 10)]
    index = itertools.count()

    def work() -> None:
        while (k := next(index)) < len(batches):
            sqs.send_message_batch(QueueUrl=url, Entries=batches[k])

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count / (time.perf_counter() - start)


def burst_ratio(endpoint: Endpoint) -> None:
    sqs = client("sqs", endpoint)
    ours, plain = [], []
    for round_ in range(ROUNDS):
        for kind in ("plain", "burst") if round_ % 2 == 0 else ("burst", "plain"):
            url = sqs.create_queue(QueueName=f"bench-burst-{round_}-{kind}")["QueueUrl"]
            if kind == "plain":
                plain.append(plain_loop(endpoint, url, BURST))
            else:
                result = burst(endpoint, url, BURST, threads=THREADS)
                assert result.sent == BURST, result.errors
                ours.append(result.rate)
            sqs.delete_queue(QueueUrl=url)
    # Each round runs both back to back (order alternating), so the ratio of a round is
    # fair even when the shared machine's load drifts between rounds.
    ratio = statistics.median(o / p for o, p in zip(ours, plain, strict=True))
    print(f"burst generator: {statistics.median(ours):.0f} msg/s (median of {ROUNDS}), "
          f"plain SendMessageBatch loop: {statistics.median(plain):.0f} msg/s "
          f"-> ratio {ratio:.2f} (median of per-round ratios; target >= 0.9); "
          f"{BURST} messages, {THREADS} threads")
    print(f"  runs: burst {[round(r) for r in ours]}, plain {[round(r) for r in plain]}")


def labs_to_prove() -> list[str]:
    wanted = [w.strip() for w in os.environ.get("BENCH_LABS", "").split(",") if w.strip()]
    if wanted == ["none"]:  # the burst figure only
        return []
    if wanted:
        return [get_lab(w).id for w in wanted]
    return [p.name for p in lab_dirs(locations.labs_dir())]


def selftests(endpoint: Endpoint) -> None:
    total = 0.0
    labs = labs_to_prove()
    if not labs:
        return
    for lab_id in labs:
        lab = load_lab(locations.labs_dir() / lab_id)
        result = selftest_lab(lab, endpoint)
        total += result.seconds
        times = result.check_seconds or [0.0]
        phases = ", ".join(f"{k} {v:.1f}" for k, v in result.phases.items())
        print(f"{lab_id:28} self-test {result.seconds:5.1f} s ({phases}); "
              f"{len(times)} checks: median {statistics.median(times) * 1000:.1f} ms, "
              f"max {max(times) * 1000:.1f} ms; {'ok' if result.ok else 'FAILED'}")
        for problem in result.problems:
            print(f"    {problem.splitlines()[0]}")
    print(f"full self-test: {total:.1f} s")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tutor-bench-labs-") as tmp:
        os.environ["TUTOR_HOME"] = tmp
        embedded = EmbeddedLocalStack(data=Path(tmp) / "localstack")
        endpoint = embedded.start()
        try:
            burst_ratio(endpoint)
            selftests(endpoint)
        finally:
            embedded.stop()


if __name__ == "__main__":
    main()
