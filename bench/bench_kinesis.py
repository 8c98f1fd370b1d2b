"""Kinesis figures: what enabling it costs LocalStack, and what it does on this machine.

Run: `.venv/bin/python -m bench bench_kinesis`. Each figure is printed beside a baseline
measured in the same run:
- boot to healthy and resident memory of the LocalStack tree with Kinesis on, against the
  same LocalStack with it off (`TUTOR_KINESIS=0`);
- the first Kinesis call in an account (LocalStack starts a kinesis-mock process for it),
  and the memory each such process adds;
- `PutRecord` one at a time, `PutRecords` of 500 and `GetRecords` of 1,000, against SQS
  `SendMessage`, `SendMessageBatch` of 10 and `ReceiveMessage` of 10 on the same LocalStack;
- lab 11's self-test against lab 08's (SNS fan-out, no Kinesis).
Asserts nothing. BENCH_RUNS (default 3) boots each way; BENCH_SELFTEST=0 skips the
self-tests (about 2 minutes).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from tutor.cloud.clients import client
from tutor.cloud.embedded import EmbeddedLocalStack, kinesis_ready
from tutor.cloud.endpoint import Endpoint

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
RECORDS = 200  # one-at-a-time calls per figure


def _tree_rss(pid: int) -> int:
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])


def _with_kinesis(on: bool) -> Callable[[], None]:
    before = os.environ.get("TUTOR_KINESIS")
    os.environ["TUTOR_KINESIS"] = "1" if on else "0"

    def restore() -> None:
        if before is None:
            os.environ.pop("TUTOR_KINESIS", None)
        else:
            os.environ["TUTOR_KINESIS"] = before

    return restore


def boots(on: bool) -> tuple[list[float], int]:
    times, rss = [], 0
    restore = _with_kinesis(on)
    try:
        for _ in range(RUNS):
            with tempfile.TemporaryDirectory() as tmp:
                embedded = EmbeddedLocalStack(data=Path(tmp))
                start = time.perf_counter()
                embedded.start()
                times.append(time.perf_counter() - start)
                rss = _tree_rss(embedded.pid or 0)
                embedded.stop()
    finally:
        restore()
    return times, rss


def throughput(endpoint: Endpoint) -> list[tuple[str, float, str, float]]:
    """(figure, per second, its SQS baseline, per second)."""
    kinesis, sqs = client("kinesis", endpoint), client("sqs", endpoint)
    stream = f"bench-{uuid.uuid4().hex[:6]}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream,
                                             WaiterConfig={"Delay": 0.25, "MaxAttempts": 80})
    url = sqs.create_queue(QueueName=stream)["QueueUrl"]
    try:
        def timed(work: Callable[[], int]) -> float:
            start = time.perf_counter()
            count = work()
            return count / (time.perf_counter() - start)

        def put_one() -> int:
            for i in range(RECORDS):
                kinesis.put_record(StreamName=stream, PartitionKey=f"o{i % 12}",
                                   Data=b'{"n": %d}' % i)
            return RECORDS

        def send_one() -> int:
            for i in range(RECORDS):
                sqs.send_message(QueueUrl=url, MessageBody=f'{{"n": {i}}}')
            return RECORDS

        def put_batch() -> int:
            for b in range(4):
                kinesis.put_records(StreamName=stream, Records=[
                    {"PartitionKey": f"o{i % 12}", "Data": b'{"n": %d}' % (b * 500 + i)}
                    for i in range(500)])
            return 2000

        def send_batch() -> int:
            for b in range(RECORDS // 10):
                sqs.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "MessageBody": f'{{"n": {b * 10 + i}}}'}
                    for i in range(10)])
            return RECORDS

        def get_all() -> int:
            count = 0
            for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
                iterator = kinesis.get_shard_iterator(
                    StreamName=stream, ShardId=shard["ShardId"],
                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                while iterator:
                    page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
                    count += len(page["Records"])
                    if not page["Records"] or page.get("MillisBehindLatest", 0) == 0:
                        break
                    iterator = page.get("NextShardIterator")
            return count

        def receive_all() -> int:
            count = 0
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                          WaitTimeSeconds=0).get("Messages", [])
                if not got:
                    return count
                count += len(got)
                sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(got)])

        return [("PutRecord, one at a time", timed(put_one),
                 "SendMessage, one at a time", timed(send_one)),
                ("PutRecords of 500", timed(put_batch),
                 "SendMessageBatch of 10", timed(send_batch)),
                ("GetRecords of 1,000 (2,200 records)", timed(get_all),
                 "Receive of 10 + DeleteBatch (400 msgs)", timed(receive_all))]
    finally:
        kinesis.delete_stream(StreamName=stream)
        sqs.delete_queue(QueueUrl=url)


def first_calls(endpoint: Endpoint, embedded: EmbeddedLocalStack) -> tuple[list[float], int]:
    """Seconds of the first Kinesis call in three fresh accounts; memory each adds."""
    seconds, before = [], _tree_rss(embedded.pid or 0)
    for k in range(3):
        account = dataclasses.replace(endpoint, account=str(990_000_000_700 + k))
        start = time.perf_counter()
        client("kinesis", account).list_streams()
        seconds.append(time.perf_counter() - start)
    return seconds, (_tree_rss(embedded.pid or 0) - before) // 3


def selftests(endpoint: Endpoint) -> list[tuple[str, float, bool]]:
    from tutor import locations
    from tutor.engine.labs.loader import load_lab
    from tutor.engine.labs.selftest import selftest_lab

    found = []
    for lab_id in ("11-sqs-sns-kinesis", "08-fan-in-fan-out"):
        lab = load_lab(locations.labs_dir() / lab_id)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = selftest_lab(lab, endpoint, Path(tmp))
            found.append((lab_id, time.perf_counter() - start, result.ok))
    return found


def main() -> None:
    why = kinesis_ready()
    if why:
        print(f"Kinesis cannot run here: {why}")
        return
    off, off_rss = boots(False)
    on, on_rss = boots(True)
    print(f"{'boot to healthy, Kinesis off':<40} median {statistics.median(off):6.2f} s")
    print(f"{'boot to healthy, Kinesis on':<40} median {statistics.median(on):6.2f} s  "
          f"ratio to off {statistics.median(on) / statistics.median(off):4.2f}  (n={RUNS})")
    print(f"{'LocalStack tree memory, Kinesis off':<40} {off_rss / 2**20:6.0f} MiB")
    print(f"{'LocalStack tree memory, Kinesis on':<40} {on_rss / 2**20:6.0f} MiB  "
          f"ratio to off {on_rss / off_rss:4.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        embedded = EmbeddedLocalStack(data=Path(tmp))
        endpoint = embedded.start()
        try:
            firsts, per_account = first_calls(endpoint, embedded)
            print(f"{'first Kinesis call in an account':<40} median "
                  f"{statistics.median(firsts):6.2f} s  (kinesis-mock starts; n=3)")
            print(f"{'memory per account that used Kinesis':<40} {per_account / 2**20:6.0f} MiB")
            for name, rate, base_name, base in throughput(endpoint):
                print(f"{name:<40} {rate:8.0f} /s   {base_name:<38} {base:8.0f} /s  "
                      f"ratio {rate / base:5.2f}")
            if os.environ.get("BENCH_SELFTEST", "1") != "0":
                ran: list[Any] = selftests(endpoint)
                base_seconds = ran[1][1]
                for lab_id, seconds, ok in ran:
                    print(f"{'self-test ' + lab_id:<40} {seconds:6.1f} s  "
                          f"{'passed' if ok else 'FAILED'}  ratio to lab 08 "
                          f"{seconds / base_seconds:4.2f}")
        finally:
            embedded.stop()
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 cores: above 2 is "
          "a busy machine)")


if __name__ == "__main__":
    main()
