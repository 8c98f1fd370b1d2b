"""Checks for lab 09: FIFO queues — message groups, deduplication, FIFO DLQs, throughput."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from tutor.engine.labs.checks import (
    CheckContext,
    Outcome,
    ScenarioFailed,
    check,
    expect,
    failed,
    partial,
    passed,
    scenario,
)

ORDERS = 6  # orders per scenario run, 4 events each
STAGES = 4
POISON_ORDER = 3  # its "paid" event (seq 2) is declined by the worker
POISON_SEQ = 2
BENCH_MESSAGES = 600  # per queue; the embedded LocalStack absorbs ~1,250 msg/s on 2 cores
BENCH_GROUPS = 10


# --- helpers -------------------------------------------------------------------------

def _require_queue(ctx: CheckContext, suffix: str) -> str:
    url = ctx.queue_url(suffix)
    if url is None:
        raise ScenarioFailed(f"the queue `{ctx.name(suffix)}` does not exist",
                             fix="create it in infra.py and run `python infra.py`")
    return url


def _depth(ctx: CheckContext, url: str) -> int:
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + \
        int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _collect(ctx: CheckContext, url: str, timeout: float, delete: bool = True
             ) -> list[dict[str, Any]]:
    """Receive every message of `url` (in delivery order) until an empty receive."""
    sqs = ctx.client("sqs")
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                       MessageSystemAttributeNames=["All"])
        messages = response.get("Messages", [])
        if not messages:
            break
        for message in messages:
            attrs = message.get("Attributes", {})
            try:
                body = json.loads(message["Body"])
            except ValueError:
                body = {"raw": message["Body"]}
            found.append({"event_id": body.get("event_id"), "order_id": body.get("order_id"),
                          "seq": body.get("seq"), "group": attrs.get("MessageGroupId"),
                          "dedup_id": attrs.get("MessageDeduplicationId"),
                          "sequence_number": attrs.get("SequenceNumber")})
            if delete:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _processed(ctx: CheckContext, run: str) -> list[dict[str, Any]]:
    """The worker's processed.jsonl lines of this run, in the order they were written."""
    path: Path = ctx.workspace / "processed.jsonl"
    rows = []
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if str(row.get("event_id", "")).startswith(run + "-"):
                rows.append(row)
    return rows


def _all_events(run: str) -> list[str]:
    return [f"{run}-o{n}-{seq}" for n in range(1, ORDERS + 1) for seq in range(1, STAGES + 1)]


# --- step 1: the FIFO queue -----------------------------------------------------------

@check
def orders_fifo(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders.fifo")
    if attrs is None:
        plain = ctx.queue_url("orders")
        found = (f"only a standard queue `{ctx.name('orders')}` (a FIFO queue's name ends "
                 "in `.fifo`)" if plain else "no such queue")
        return failed(f"a FIFO queue `{ctx.name('orders.fifo')}`", found)
    return expect(attrs.get("FifoQueue") == "true", "FifoQueue=true",
                  f"FifoQueue={attrs.get('FifoQueue')}", attributes=attrs)


@check
def content_dedup(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders.fifo") or {}
    value = attrs.get("ContentBasedDeduplication", "absent")
    return expect(value == "true",
                  f"`{ctx.name('orders.fifo')}` to have ContentBasedDeduplication=true",
                  f"ContentBasedDeduplication={value}")


@check
def visibility_timeout(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders.fifo") or {}
    want = int(ctx.clock.seconds("visibility_timeout"))
    value = attrs.get("VisibilityTimeout", "absent")
    return expect(value == str(want), f"VisibilityTimeout={want} "
                  f"({ctx.clock.explain('visibility_timeout')})", f"VisibilityTimeout={value}")


# --- step 2: message groups and deduplication --------------------------------------------

@scenario(timeout=45)
def produce(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx, "orders.fifo")
    ctx.client("sqs").purge_queue(QueueUrl=url)
    run = uuid.uuid4().hex[:8]
    program = ctx.runner.run("producer.py", "--run", run, "--orders", str(ORDERS), timeout=25)
    messages = _collect(ctx, url, timeout=12)
    return {"run": run, "sends": program.api_calls("sqs").get("SendMessage", 0),
            "messages": messages, "output": program.output(5)}


@check
def group_per_order(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("produce")
    messages = result["messages"]
    if not messages:
        return failed("the producer's messages in the queue", "no message")
    right = [m for m in messages if m["group"] == m["order_id"]]
    wrong = [m for m in messages if m["group"] != m["order_id"]][:3]
    groups = sorted({str(m["group"]) for m in messages})
    return partial(len(right) / len(messages),
                   "every message's MessageGroupId to be its order id (one group per order)",
                   f"{len(right)} of {len(messages)} messages grouped by order, "
                   f"{len(groups)} distinct groups", examples_wrong=wrong, groups=groups[:10])


@check
def deduplicated(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("produce")
    messages = result["messages"]
    expected = ORDERS * STAGES
    counts = Counter(m["event_id"] for m in messages)
    dups = {k: v for k, v in counts.items() if v > 1}
    unique = len(counts)
    if unique < expected:
        return partial(unique / expected, f"all {expected} events in the queue",
                       f"{unique} distinct events ({len(messages)} messages)",
                       missing=sorted(set(_all_events(result["run"])) - set(counts))[:5])
    ok = len(messages) == expected
    return expect(ok, f"{expected} messages for {expected} events although the producer made "
                  f"{result['sends']} sends (the retries deduplicated)",
                  f"{len(messages)} messages: {len(dups)} events arrived more than once"
                  if dups else f"{len(messages)} messages, each event once",
                  duplicated=dict(list(dups.items())[:5]), sends=result["sends"],
                  dedup_ids=[m["dedup_id"] for m in messages[:3]])


@check
def order_within_groups(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("produce")
    per_order: dict[str, list[int]] = defaultdict(list)
    for m in result["messages"]:
        per_order[str(m["order_id"])].append(int(m["seq"] or 0))
    if not per_order:
        return failed("the producer's messages in the queue", "no message")
    good = [o for o, seqs in per_order.items() if seqs == sorted(seqs)]
    bad = {o: s for o, s in per_order.items() if s != sorted(s)}
    return partial(len(good) / len(per_order),
                   "each order's events delivered in the order they were sent",
                   f"{len(good)} of {len(per_order)} orders in order", out_of_order=bad)


# --- step 3: the FIFO dead-letter queue ------------------------------------------------------

@check
def dlq_is_fifo(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders-dlq.fifo")
    if attrs is None:
        return failed(f"a FIFO dead-letter queue `{ctx.name('orders-dlq.fifo')}`",
                      "no such queue")
    return expect(attrs.get("FifoQueue") == "true", "FifoQueue=true on the DLQ",
                  f"FifoQueue={attrs.get('FifoQueue')}")


@check
def redrive_policy(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders.fifo") or {}
    raw = attrs.get("RedrivePolicy")
    want_count = int(ctx.params.get("max_receive_count", 3))
    target = ctx.queue_arn("orders-dlq.fifo")
    if not raw:
        return failed(f"`{ctx.name('orders.fifo')}` to have a RedrivePolicy", "none")
    policy = json.loads(raw)
    score = 0.0
    if policy.get("deadLetterTargetArn") == target:
        score += 0.5
    if int(policy.get("maxReceiveCount", 0)) == want_count:
        score += 0.5
    return partial(score, f"deadLetterTargetArn={target} and maxReceiveCount={want_count}",
                   f"deadLetterTargetArn={policy.get('deadLetterTargetArn')} and "
                   f"maxReceiveCount={policy.get('maxReceiveCount')}", redrive_policy=policy)


# --- step 4: a failing message blocks its group, not the others --------------------------

@scenario(timeout=60)
def poison_run(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx, "orders.fifo")
    dlq = _require_queue(ctx, "orders-dlq.fifo")
    sqs = ctx.client("sqs")
    sqs.purge_queue(QueueUrl=url)
    sqs.purge_queue(QueueUrl=dlq)
    (ctx.workspace / "processed.jsonl").unlink(missing_ok=True)
    run = uuid.uuid4().hex[:8]
    ctx.runner.run("producer.py", "--run", run, "--orders", str(ORDERS),
                   "--poison", str(POISON_ORDER), timeout=25)
    healthy = {e for e in _all_events(run) if f"-o{POISON_ORDER}-" not in e}
    start = time.time()
    worker = ctx.runner.start("worker.py")
    marks: dict[str, float] = {}

    def settled() -> bool:
        if "dlq" not in marks and _depth(ctx, dlq) > 0:
            marks["dlq"] = time.time()
        done = {r["event_id"] for r in _processed(ctx, run)}
        if "healthy" not in marks and healthy <= done:
            marks["healthy"] = time.time()
        return "dlq" in marks and "healthy" in marks and _depth(ctx, url) == 0

    vt = ctx.clock.seconds("visibility_timeout")
    finished = ctx.runner.wait_until(settled, timeout=vt * 6 + 10, interval=0.25)
    alive = worker.alive
    worker.stop()
    dead = _collect(ctx, dlq, timeout=5, delete=False)
    return {"run": run, "start": start, "finished": finished, "worker_alive": alive,
            "dlq_at": marks.get("dlq"), "healthy_at": marks.get("healthy"),
            "processed": _processed(ctx, run), "dlq": [m for m in dead if m["event_id"]
                                                       and m["event_id"].startswith(run)],
            "orders_left": _depth(ctx, url), "output": worker.output(10)}


def _poison_id(run: str) -> str:
    return f"{run}-o{POISON_ORDER}-{POISON_SEQ}"


@check
def poison_in_dlq(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("poison_run")
    ids = [m["event_id"] for m in result["dlq"]]
    poison = _poison_id(result["run"])
    if poison not in ids:
        return failed(f"the declined event `{poison}` in `{ctx.name('orders-dlq.fifo')}` "
                      "after maxReceiveCount receives",
                      f"DLQ holds {ids or 'nothing'}", worker_output=result["output"])
    seqs = [int(m["seq"]) for m in result["dlq"]]
    return expect(seqs == sorted(seqs), "the DLQ to keep the order's events in order",
                  f"DLQ holds {ids}", dlq=result["dlq"])


@check
def group_order_kept(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("poison_run")
    # The move to the DLQ happens inside a ReceiveMessage that may return the order's next
    # events at once, and the scenario notices it by polling: allow half a visibility
    # timeout. A jump while the payment is still retried is at least one timeout early.
    slack = ctx.clock.seconds("visibility_timeout") / 2
    poison_at = (result["dlq_at"] or float("inf")) - slack
    rows = result["processed"]
    if not rows:
        return failed("the worker to process events (processed.jsonl)", "nothing processed",
                      worker_output=result["output"])
    per_order: dict[str, list[int]] = defaultdict(list)
    jumped = []
    for row in rows:
        per_order[row["order_id"]].append(int(row["seq"]))
        if row["order_id"].endswith(f"-o{POISON_ORDER}") and int(row["seq"]) > POISON_SEQ \
                and float(row["t"]) < poison_at:
            jumped.append(row["event_id"])
    disordered = {o: s for o, s in per_order.items() if s != sorted(s)}
    if jumped:
        return failed(f"no event of order o{POISON_ORDER} after its declined payment to be "
                      "processed while the payment was still being retried",
                      f"{jumped} processed before the payment left the queue (the order "
                      "was shipped without being paid)", processed=rows[:30])
    return expect(not disordered, "every order's events processed in sequence",
                  f"out of order: {disordered}" if disordered else
                  f"{len(per_order)} orders each processed in sequence",
                  per_order=dict(per_order))


@check
def other_groups_flow(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("poison_run")
    healthy = [e for e in _all_events(result["run"]) if f"-o{POISON_ORDER}-" not in e]
    done = {r["event_id"] for r in result["processed"]}
    got = sum(1 for e in healthy if e in done)
    if got < len(healthy):
        return partial(got / len(healthy), f"all {len(healthy)} events of the other orders "
                       "processed", f"{got}", worker_output=result["output"])
    took = result["healthy_at"] - result["start"]
    poison = (result["dlq_at"] - result["start"]) if result["dlq_at"] else None
    ok = poison is None or took < poison
    return expect(ok, "the other orders finished before the declined payment reached the DLQ "
                  "(a failing group does not block the others)",
                  f"other orders done after {took:.1f} s, the declined payment in the DLQ "
                  f"after {poison:.1f} s" if poison is not None else
                  f"other orders done after {took:.1f} s", healthy_seconds=round(took, 2),
                  poison_seconds=poison)


@check
def nothing_lost(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("poison_run")
    events = _all_events(result["run"])
    processed = Counter(r["event_id"] for r in result["processed"])
    dead = {m["event_id"] for m in result["dlq"]}
    lost = [e for e in events if e not in processed and e not in dead]
    twice = [e for e, n in processed.items() if n > 1]
    if lost or twice:
        return partial((len(events) - len(lost) - len(twice)) / len(events),
                       f"each of the {len(events)} events processed once or parked in the DLQ",
                       f"{len(lost)} lost, {len(twice)} processed twice",
                       lost=lost[:5], twice=twice[:5], orders_left=result["orders_left"])
    return passed(f"each of the {len(events)} events processed once or in the DLQ",
                  f"{sum(processed.values())} processed once, {len(dead)} in the DLQ",
                  in_dlq=sorted(dead))


# --- step 5: throughput, standard against FIFO ---------------------------------------------

def _send_burst(ctx: CheckContext, url: str, fifo: bool, run: str) -> dict[str, Any]:
    """BENCH_MESSAGES in batches of 10 from 5 threads; each thread owns 2 groups (FIFO)."""
    sqs = ctx.client("sqs")
    per_group = BENCH_MESSAGES // BENCH_GROUPS
    totals = {"sent": 0, "failed": 0}
    lock = threading.Lock()

    def work(thread: int) -> None:
        sent = bad = 0
        for group in (thread, thread + BENCH_GROUPS // 2):
            for first in range(0, per_group, 10):
                entries = []
                for i in range(first, min(first + 10, per_group)):
                    entry = {"Id": str(i - first), "MessageBody": f'{{"g": {group}, "i": {i}}}'}
                    if fifo:
                        entry["MessageGroupId"] = f"g{group}"
                        entry["MessageDeduplicationId"] = f"{run}-{group}-{i}"
                    entries.append(entry)
                try:
                    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
                except Exception:
                    bad += len(entries)
                    continue
                sent += len(response.get("Successful", []))
                bad += len(response.get("Failed", []))
        with lock:
            totals["sent"] += sent
            totals["failed"] += bad

    threads = [threading.Thread(target=work, args=(t,), daemon=True)
               for t in range(BENCH_GROUPS // 2)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    seconds = time.monotonic() - start
    return {"sent": totals["sent"], "failed": totals["failed"], "seconds": round(seconds, 3),
            "rate": round(totals["sent"] / seconds, 1) if seconds else 0.0}


@scenario(timeout=60)
def throughput(ctx: CheckContext) -> dict[str, Any]:
    standard = _require_queue(ctx, "bench")
    fifo = _require_queue(ctx, "bench.fifo")
    sqs = ctx.client("sqs")
    sqs.purge_queue(QueueUrl=standard)
    sqs.purge_queue(QueueUrl=fifo)
    run = uuid.uuid4().hex[:8]
    results = {"standard": _send_burst(ctx, standard, False, run),
               "fifo": _send_burst(ctx, fifo, True, run)}
    results["standard"]["in_queue"] = _depth(ctx, standard)
    results["fifo"]["in_queue"] = _depth(ctx, fifo)
    sqs.purge_queue(QueueUrl=standard)
    sqs.purge_queue(QueueUrl=fifo)
    return results


@check
def high_throughput_mode(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("bench.fifo")
    if attrs is None:
        return failed(f"a FIFO queue `{ctx.name('bench.fifo')}`", "no such queue")
    want = {"FifoQueue": "true", "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId"}
    found = {k: attrs.get(k, "absent") for k in want}
    right = sum(1 for k in want if found[k] == want[k])
    return partial(right / len(want), ", ".join(f"{k}={v}" for k, v in want.items()),
                   ", ".join(f"{k}={v}" for k, v in found.items()))


@check
def burst_measured(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("throughput")
    std, fifo = result["standard"], result["fifo"]
    complete = [name for name, r in (("standard", std), ("FIFO", fifo))
                if r["sent"] == BENCH_MESSAGES and r["in_queue"] == BENCH_MESSAGES]
    ratio = fifo["rate"] / std["rate"] if std["rate"] else 0.0
    found = (f"standard {std['rate']:.0f} msg/s, FIFO {fifo['rate']:.0f} msg/s "
             f"(FIFO/standard = {ratio:.2f}); arrived: standard {std['in_queue']}, "
             f"FIFO {fifo['in_queue']}")
    return partial(len(complete) / 2, f"all {BENCH_MESSAGES} messages of the burst in each "
                   "queue, with both send rates measured", found, standard=std, fifo=fifo,
                   ratio=round(ratio, 2))
