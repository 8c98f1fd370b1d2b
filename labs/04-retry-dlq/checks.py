"""Checks for lab 04: retry and failure isolation with a DLQ, then fix and redrive."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
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

LEDGER = "processed.jsonl"
WORKERS = 2


# --- helpers ---------------------------------------------------------------------------




def _ledger(ctx: CheckContext) -> Counter[str]:
    path = ctx.workspace / LEDGER
    found: Counter[str] = Counter()
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                found[str(json.loads(line)["order"])] += 1
            except (ValueError, KeyError, TypeError):
                continue
    return found



def _redrive_policy(ctx: CheckContext) -> dict[str, Any] | None:
    attrs = ctx.queue_attributes("orders") or {}
    raw = attrs.get("RedrivePolicy")
    return json.loads(raw) if raw else None


def _stop_workers(ctx: CheckContext) -> None:
    """Stop the workers, then outlive their pending long polls.

    A ReceiveMessage that was waiting when its worker died still completes on the server:
    a message arriving within the wait would be handed to the dead worker and stay
    invisible for a whole visibility timeout. The worker waits 1 s, so wait that out.
    """
    for program in ctx.runner.programs:
        program.stop()
    time.sleep(1.3)


def _tails(ctx: CheckContext) -> str:
    return "\n".join(f"--- {p.name} ---\n{p.output(12)}" for p in ctx.runner.programs)


def _processing(ctx: CheckContext) -> float:
    return ctx.clock.seconds("processing_time")


# --- step 1: a DLQ with a redrive policy -----------------------------------------------


@check
def dlq_exists(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders-dlq")
    return expect(attrs is not None, f"the queue `{ctx.name('orders-dlq')}` to exist",
                  "no such queue" if attrs is None else "it", queue=ctx.name("orders-dlq"))


@check
def redrive_policy(ctx: CheckContext) -> Outcome:
    low, high = ctx.params.get("min_receives", 2), ctx.params.get("max_receives", 5)
    want = (f"the queue `{ctx.name('orders')}` to have a redrive policy targeting "
            f"`{ctx.name('orders-dlq')}` with {low} <= maxReceiveCount <= {high}")
    if ctx.queue_attributes("orders") is None:
        return failed(want, f"no queue `{ctx.name('orders')}`")
    policy = _redrive_policy(ctx)
    if policy is None:
        return failed(want, "none")
    target_ok = policy.get("deadLetterTargetArn") == ctx.queue_arn("orders-dlq")
    count = int(policy.get("maxReceiveCount", 0))
    count_ok = low <= count <= high
    found = (f"target `{str(policy.get('deadLetterTargetArn', '?')).rsplit(':', 1)[-1]}` and "
             f"maxReceiveCount {count}")
    if count < low:
        found += " (1 receive means no retry at all for a message that failed once by bad luck)"
    return partial((0.5 if target_ok else 0) + (0.5 if count_ok else 0), want, found,
                   redrive_policy=policy)


@check
def redrive_allow(ctx: CheckContext) -> Outcome:
    want = (f"the DLQ `{ctx.name('orders-dlq')}` to allow only `{ctx.name('orders')}` as "
            "source (RedriveAllowPolicy byQueue)")
    attrs = ctx.queue_attributes("orders-dlq")
    if attrs is None:
        return failed(want, "no DLQ")
    raw = attrs.get("RedriveAllowPolicy")
    if not raw:
        return failed(want, "no RedriveAllowPolicy (any queue of the account may use it)")
    policy = json.loads(raw)
    sources = policy.get("sourceQueueArns", [])
    ok = policy.get("redrivePermission") == "byQueue" and sources == [ctx.queue_arn("orders")]
    return expect(ok, want, f"redrivePermission `{policy.get('redrivePermission')}` with "
                  f"sources {sources}", redrive_allow_policy=policy)


@check
def dlq_retention(ctx: CheckContext) -> Outcome:
    want = "the DLQ to keep messages longer than the source queue (MessageRetentionPeriod)"
    source, dlq = ctx.queue_attributes("orders"), ctx.queue_attributes("orders-dlq")
    if source is None or dlq is None:
        return failed(want, "a missing queue")
    s, d = int(source["MessageRetentionPeriod"]), int(dlq["MessageRetentionPeriod"])
    return expect(d > s, want, f"source {s // 3600} h, DLQ {d // 3600} h", source=s, dlq=d)


# --- step 2: visibility timeout above the processing time --------------------------------


@check
def visibility_timeout(ctx: CheckContext) -> Outcome:
    low = ctx.params.get("factor", 2) * _processing(ctx)
    high = ctx.params.get("max_seconds", 10)
    want = (f"the visibility timeout of `{ctx.name('orders')}` to be between {low:g} s "
            f"(2 x the {_processing(ctx):g} s an order takes) and {high:g} s "
            f"({ctx.clock.explain('visibility_timeout')})")
    attrs = ctx.queue_attributes("orders")
    if attrs is None:
        return failed(want, "no such queue")
    value = int(attrs["VisibilityTimeout"])
    return expect(low <= value <= high, want, f"{value} s", visibility_timeout=value)


@scenario(timeout=45)
def fleet_run(ctx: CheckContext) -> dict[str, Any]:
    """Six good orders through two workers; count how often each was processed."""
    url = ctx.require_queue_url("orders")
    ctx.drain(url)
    (ctx.workspace / LEDGER).unlink(missing_ok=True)
    run = uuid.uuid4().hex[:6]
    ids = [f"o-{run}-{i}" for i in range(6)]
    ctx.runner.burst(url, len(ids), body=lambda i: json.dumps({"order": ids[i],
                                                                "quantity": 1}))
    started = time.monotonic()
    for _ in range(WORKERS):
        ctx.runner.start("worker.py")

    def settled() -> bool:
        return all(_ledger(ctx)[i] for i in ids) and ctx.message_counts(url) == (0, 0)

    done = ctx.runner.wait_until(settled, timeout=30)
    time.sleep(_processing(ctx) + 0.5)  # let a duplicate still in progress be recorded
    seconds = time.monotonic() - started
    ledger = _ledger(ctx)
    output = _tails(ctx)
    _stop_workers(ctx)
    return {"ids": ids, "counts": {i: ledger[i] for i in ids}, "settled": done,
            "seconds": round(seconds, 1), "output": output}


@check
def no_duplicates(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("fleet_run")
    counts: dict[str, int] = run["counts"]
    want = f"each of the {len(counts)} orders processed exactly once by the {WORKERS} workers"
    dupes = {k: v for k, v in counts.items() if v > 1}
    missing = [k for k, v in counts.items() if v == 0]
    if dupes:
        return failed(want, f"{len(dupes)} processed more than once ({max(dupes.values())}x at "
                      "most): an order became visible again while a worker was still on it",
                      counts=counts, output=run["output"])
    if missing:
        return failed(want, f"{len(missing)} never processed within 30 s", counts=counts,
                      output=run["output"])
    return passed(want, f"each processed once in {run['seconds']} s", counts=counts)


# --- step 3: the poison message lands in the DLQ, the good ones flow ----------------------


@scenario(timeout=60)
def poison_run(ctx: CheckContext) -> dict[str, Any]:
    """Three good orders and one poison message through two workers."""
    url, dlq = ctx.require_queue_url("orders"), ctx.require_queue_url("orders-dlq")
    ctx.drain(url)
    ctx.drain(dlq)
    (ctx.workspace / LEDGER).unlink(missing_ok=True)
    policy = _redrive_policy(ctx) or {}
    visibility = int((ctx.queue_attributes("orders") or {}).get("VisibilityTimeout", 30))
    receives = int(policy.get("maxReceiveCount", 0))
    if not receives:
        raise ScenarioFailed(f"`{ctx.name('orders')}` has no redrive policy: a poison "
                             "message would be retried until its retention ends",
                             fix="finish step 1 first")
    budget = min(45.0, receives * (visibility + 1.5) + 8)
    run = uuid.uuid4().hex[:6]
    good = [f"o-{run}-{i}" for i in range(3)]
    poison = f"o-{run}-poison"
    bodies = [json.dumps({"order": g, "quantity": 2}) for g in good]
    bodies.insert(1, '{"order": "' + poison + '", "quantity": ')  # truncated JSON
    ctx.runner.burst(url, len(bodies), body=lambda i: bodies[i], threads=1)
    started = time.monotonic()
    for _ in range(WORKERS):
        ctx.runner.start("worker.py")
    good_at: float | None = None

    def settled() -> bool:
        nonlocal good_at
        if good_at is None and all(_ledger(ctx)[g] for g in good):
            good_at = time.monotonic() - started
        return good_at is not None and ctx.message_counts(url) == (0, 0) and \
            ctx.message_counts(dlq)[0] >= 1

    done = ctx.runner.wait_until(settled, timeout=budget, interval=0.5)
    poison_at = time.monotonic() - started if done else None
    output = _tails(ctx)
    _stop_workers(ctx)
    sqs = ctx.client("sqs")
    peeked = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                 WaitTimeSeconds=1).get("Messages", [])
    ledger = _ledger(ctx)
    return {"good": {g: ledger[g] for g in good}, "poison_in_dlq": any(
        poison in m["Body"] for m in peeked), "poison_processed": ledger[poison],
        "source": ctx.message_counts(url), "good_seconds": good_at, "poison_seconds": poison_at,
        "budget": round(budget, 1), "max_receive_count": receives, "visibility": visibility,
        "output": output}


@check
def poison_isolated(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("poison_run")
    want = (f"the poison message in `{ctx.name('orders-dlq')}` after "
            f"{run['max_receive_count']} failed receives")
    if run["poison_in_dlq"]:
        return passed(want, f"it there after {run['poison_seconds']:.1f} s "
                      f"({run['max_receive_count']} x {run['visibility']} s visibility)",
                      **{k: v for k, v in run.items() if k != "output"})
    visible, in_flight = run["source"]
    if visible or in_flight:
        found = (f"it still in `{ctx.name('orders')}` after {run['budget']} s "
                 f"({visible} visible, {in_flight} in flight)")
    else:
        found = ("neither queue holding it: the worker deleted a message it failed to "
                 "process, so it is lost")
    return failed(want, found, source=run["source"], output=run["output"])


@check
def good_orders_flow(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("poison_run")
    good: dict[str, int] = run["good"]
    want = "the 3 good orders processed exactly once while the poison message was retried"
    ok = all(v == 1 for v in good.values())
    found = (f"all done in {run['good_seconds']:.1f} s" if ok and run["good_seconds"]
             else f"processed counts {good}")
    return expect(ok, want, found, good=good, output="" if ok else run["output"])


# --- step 4: fix the worker, redrive the DLQ, lose nothing --------------------------------


@scenario(timeout=60)
def redrive_run(ctx: CheckContext) -> dict[str, Any]:
    """Dead-letter three mobile-app orders, run redrive.py, then the (fixed) workers."""
    url, dlq = ctx.require_queue_url("orders"), ctx.require_queue_url("orders-dlq")
    sqs = ctx.client("sqs")
    ctx.drain(url)
    ctx.drain(dlq)
    (ctx.workspace / LEDGER).unlink(missing_ok=True)
    receives = int((_redrive_policy(ctx) or {}).get("maxReceiveCount", 0))
    if not receives:
        raise ScenarioFailed(f"`{ctx.name('orders')}` has no redrive policy",
                             fix="finish step 1 first")
    run = uuid.uuid4().hex[:6]
    orders = [f"o-{run}-app{i}" for i in range(3)]
    ctx.runner.burst(url, 3, body=lambda i: json.dumps({"order": orders[i],
                                                         "quantity": str(i + 1)}), threads=1)
    # Last night's broken worker, replayed fast: receive without deleting, visibility 0,
    # until SQS moves the three orders to the DLQ.
    for _ in range(10 * (receives + 2)):  # bounded; a receive may return fewer than asked
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        if ctx.message_counts(dlq)[0] >= 3:
            break
        time.sleep(0.05)
    dead = ctx.message_counts(dlq)[0]
    if dead < 3:
        raise ScenarioFailed(f"only {dead} of 3 failed orders reached the DLQ while "
                             "preparing the redrive", fix="check the redrive policy (step 1)")
    redrive = ctx.runner.run("redrive.py", timeout=30)
    ctx.runner.wait_until(lambda: ctx.message_counts(dlq) == (0, 0), timeout=5)
    after_redrive = ctx.message_counts(dlq)[0]
    tasks = sqs.list_message_move_tasks(SourceArn=ctx.queue_arn("orders-dlq"),
                                        MaxResults=5).get("Results", [])
    for _ in range(WORKERS):
        ctx.runner.start("worker.py")

    def settled() -> bool:
        return all(_ledger(ctx)[o] for o in orders) and ctx.message_counts(url) == (0, 0)

    ctx.runner.wait_until(settled, timeout=20, interval=0.5)
    time.sleep(0.5)
    output = _tails(ctx)
    _stop_workers(ctx)
    ledger = _ledger(ctx)
    return {"orders": {o: ledger[o] for o in orders}, "dlq_after_redrive": after_redrive,
            "move_tasks": [{k: t.get(k) for k in ("Status", "ApproximateNumberOfMessagesMoved")}
                           for t in tasks],
            "source": ctx.message_counts(url), "dlq": ctx.message_counts(dlq),
            "redrive_output": redrive.output(10), "output": output}


@check
def dlq_redriven(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("redrive_run")
    want = f"redrive.py to move the 3 dead-lettered orders out of `{ctx.name('orders-dlq')}`"
    moved = run["dlq_after_redrive"] == 0 and bool(run["move_tasks"])
    found = (f"a move task {run['move_tasks'][0]['Status']}" if moved
             else f"{run['dlq_after_redrive']} still in the DLQ; move tasks: "
                  f"{run['move_tasks'] or 'none'}")
    return expect(moved, want, found, move_tasks=run["move_tasks"],
                  redrive_output=run["redrive_output"])


@check
def fixed_worker(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("redrive_run")
    orders: dict[str, int] = run["orders"]
    want = "the 3 redriven mobile-app orders (quantity sent as a string) processed exactly once"
    done = sum(1 for v in orders.values() if v == 1)
    return partial(done / len(orders), want, f"{done} of {len(orders)} processed once",
                   orders=orders, output="" if done == len(orders) else run["output"])


@check
def nothing_lost(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("redrive_run")
    orders: dict[str, int] = run["orders"]
    processed = sum(1 for v in orders.values() if v)
    waiting = run["source"][0] + run["source"][1] + run["dlq"][0] + run["dlq"][1]
    want = "every order either processed or still waiting in a queue (none lost)"
    ok = processed + waiting >= len(orders)
    found = (f"{processed} processed, {waiting} waiting" if ok else
             f"{processed} processed, {waiting} waiting: "
             f"{len(orders) - processed - waiting} deleted without being processed")
    return expect(ok, want, found, orders=orders, source=run["source"], dlq=run["dlq"])
