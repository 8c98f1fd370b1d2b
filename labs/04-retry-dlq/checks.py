"""Checks for lab 04: retry and failure isolation with a DLQ, then fix and redrive."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from typing import Any


from tutor.engine.labs import faults
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
from tutor.engine.labs.scenario import Program
from tutor.engine.labs.sqs_facts import require_redrive

LEDGER = "processed.jsonl"
WORKERS = 2
RESTARTS = 3  # a supervisor restarts a crashed worker, as ECS or systemd would
LONGEST_POLL = 20.0  # the most a learner's ReceiveMessage can wait (SQS's maximum)


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


def _settings(ctx: CheckContext) -> tuple[int, int]:
    """(maxReceiveCount, visibility timeout) of the orders queue; fails the scenario
    when there is no usable redrive policy."""
    receives, visibility = require_redrive(ctx, "orders")
    return receives, int(visibility)


def _outlive_polls(ctx: CheckContext, programs: list[Program]) -> None:
    """Wait until the stopped programs' last long polls are over.

    A ReceiveMessage that was waiting when its worker died still completes on the server:
    a message arriving within the wait would be handed to the dead worker and stay
    invisible for a whole visibility timeout. The hook records each call as it ends, so a
    worker's pending poll began about when its last recorded call ended; it lasts the
    call's WaitTimeSeconds (or the queue's default, when the call gives none).
    """
    default = int((ctx.queue_attributes("orders") or {}).get(
        "ReceiveMessageWaitTimeSeconds", 0))
    until = time.time()
    for program in programs:
        calls = program.events("api")
        if not calls:
            continue
        receives = [e for e in calls if e.get("op") == "ReceiveMessage"]
        wait = float(receives[-1].get("wait", default)) if receives else float(default)
        until = max(until, float(calls[-1]["t"]) + min(wait, LONGEST_POLL) + 0.3)
    left = until - time.time()
    if left > 3:  # a long poll of the learner's own: the scenario may take that long more
        left = ctx.budget(left, "the long poll of your stopped workers")
    time.sleep(max(0.0, left))


def _stop_workers(ctx: CheckContext) -> None:
    programs = [p for p in ctx.runner.programs if p.name == "worker.py"]
    for program in ctx.runner.programs:
        program.stop()
    _outlive_polls(ctx, programs)


def _tails(ctx: CheckContext) -> str:
    return "\n".join(f"--- {p.name} ---\n{p.output(12)}" for p in ctx.runner.programs)


def _processing(ctx: CheckContext) -> float:
    return ctx.clock.seconds("processing_time")


def _crashes(workers: list[Program]) -> list[int]:
    """Exit codes of worker incarnations that ended by themselves (not the tutor's SIGKILL)."""
    return [code for w in workers for code in w.exits if code != -9]


def _quiet(ctx: CheckContext, workers: list[Program], most: float) -> bool:
    """Wait (at most `most` s) until no worker holds a message any more."""
    return ctx.runner.wait_until(lambda: all(w.idle() for w in workers), timeout=most,
                                 interval=0.2)


def _peek(ctx: CheckContext, url: str) -> list[dict[str, Any]]:
    """The messages of a queue (visible ones), without keeping them."""
    found: dict[str, dict[str, Any]] = {}
    sqs = ctx.client("sqs")
    for _ in range(3):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                    AttributeNames=["ApproximateReceiveCount"],
                                    WaitTimeSeconds=0).get("Messages", [])
        for m in batch:
            found.setdefault(m["MessageId"], m)
        if len(batch) < 10:
            break
    return list(found.values())


def _order_of(message: dict[str, Any]) -> str:
    try:
        return str(json.loads(message["Body"])["order"])
    except (ValueError, KeyError, TypeError):
        body = str(message.get("Body", ""))
        start = body.find('"order": "')
        return body[start + 10:].split('"', 1)[0] if start >= 0 else body[:40]


# --- steps 1 and 2: the queues' configuration is read by built-in checks (lab.yaml) ------
# --- step 2: with two workers, each order is processed once -------------------------------


@scenario(timeout=45)
def fleet_run(ctx: CheckContext) -> dict[str, Any]:
    """Six good orders through two workers; count how often each was processed."""
    url = ctx.require_queue_url("orders")
    ctx.clear(url)
    (ctx.workspace / LEDGER).unlink(missing_ok=True)
    run = uuid.uuid4().hex[:6]
    ids = [f"o-{run}-{i}" for i in range(6)]
    ctx.runner.burst(url, len(ids), body=lambda i: json.dumps({"order": ids[i],
                                                                "quantity": 1}))
    started = time.monotonic()
    workers = [ctx.runner.start("worker.py") for _ in range(WORKERS)]

    def settled() -> bool:
        return all(_ledger(ctx)[i] for i in ids) and ctx.message_counts(url) == (0, 0)

    done = ctx.runner.wait_until(settled, timeout=30)
    # A worker may still be charging a duplicate whose original was deleted meanwhile.
    _quiet(ctx, workers, _processing(ctx) + 1.5)
    seconds = time.monotonic() - started
    ledger = _ledger(ctx)
    output = _tails(ctx)
    _stop_workers(ctx)
    attrs = ctx.queue_attributes("orders") or {}
    return {"ids": ids, "counts": {i: ledger[i] for i in ids}, "settled": done,
            "seconds": round(seconds, 1), "output": output,
            "visibility": int(attrs.get("VisibilityTimeout", 30))}


@check
def no_duplicates(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("fleet_run")
    counts: dict[str, int] = run["counts"]
    want = f"each of the {len(counts)} orders processed exactly once by the {WORKERS} workers"
    dupes = {k: v for k, v in counts.items() if v > 1}
    missing = [k for k, v in counts.items() if v == 0]
    if dupes:
        return failed(want, f"{len(dupes)} processed more than once ({max(dupes.values())}x at "
                      "most): an order became visible again while a worker was still on it, "
                      "and the other worker charged it a second time",
                      counts=counts, output=run["output"])
    if missing:
        return failed(want, f"{len(missing)} never processed within 30 s", counts=counts,
                      output=run["output"])
    visibility = run.get("visibility", 30)
    if visibility < _processing(ctx):
        # LocalStack puts an expired message back on a 1 s tick, so a run can miss the
        # duplicate that the settings promise: the settings decide, not this run's luck.
        return failed(want, f"each processed once in this run, by luck: with a "
                      f"VisibilityTimeout of {visibility} s and {_processing(ctx):g} s of "
                      "work per order, every order becomes visible again while a worker is "
                      "still on it, and the other worker can charge it a second time (more "
                      "than once on a busy day)", counts=counts, visibility=visibility)
    return passed(want, f"each processed once in {run['seconds']} s", counts=counts)


# --- step 3: the poison message lands in the DLQ, the good ones flow ----------------------

# A worker that deletes an order before it has recorded it loses that order when it
# crashes in between. The tutor crashes a worker right after the fleet's first delete
# (whichever API it deletes with); a supervisor starts it again.
POISON_FAULTS = (faults.kill("DeleteMessage", when="after", nth=[1], id="kill-delete"),
                 faults.kill("DeleteMessageBatch", when="after", nth=[1],
                             id="kill-delete-batch"))


@scenario(timeout=60)
def poison_run(ctx: CheckContext) -> dict[str, Any]:
    """Three good orders and one poison message through two workers, one crash."""
    url, dlq = ctx.require_queue_url("orders"), ctx.require_queue_url("orders-dlq")
    ctx.clear(url)
    ctx.clear(dlq)
    (ctx.workspace / LEDGER).unlink(missing_ok=True)
    receives, visibility = _settings(ctx)
    # The poison is received maxReceiveCount times, a visibility timeout apart, and moves
    # on the receive after that; the good orders and one restart fit in the margin.
    budget = ctx.budget(receives * (visibility + 2) + 2 * _processing(ctx) + 10,
                        f"maxReceiveCount {receives} x visibility timeout {visibility} s")
    run = uuid.uuid4().hex[:6]
    good = [f"o-{run}-{i}" for i in range(3)]
    poison = f"o-{run}-poison"
    bodies = [json.dumps({"order": g, "quantity": 2}) for g in good]
    bodies.insert(1, '{"order": "' + poison + '", "quantity": ')  # truncated JSON
    ctx.runner.inject(*POISON_FAULTS)
    ctx.runner.burst(url, len(bodies), body=lambda i: bodies[i], threads=1)
    started = time.monotonic()
    workers = [ctx.runner.start("worker.py", restarts=RESTARTS) for _ in range(WORKERS)]
    good_at: float | None = None
    early = ""

    def settled() -> bool:
        # Once lab04-orders holds nothing (visible or in flight), every message has met
        # its fate: processed and deleted, moved to the DLQ, or deleted unprocessed.
        nonlocal good_at, early
        ledger = _ledger(ctx)
        if good_at is None and all(ledger[g] for g in good):
            good_at = time.monotonic() - started
        if all(w.finished for w in workers):
            early = "every worker had crashed"
            return True
        # A failure already certain need not wait for the poison's last receive.
        if any(ledger[g] > 1 for g in good):
            early = "a good order had been processed twice"
            return True
        if good_at is not None and _crashes(workers):
            early = "a worker had crashed by itself"
            return True
        sends = sum(w.api_calls("sqs").get("SendMessage", 0) for w in workers)
        if sends > receives:  # a copy sent again starts at receive count 0, every time
            early = f"your workers had sent {sends} messages"
            return True
        return ctx.message_counts(url) == (0, 0)

    done = ctx.runner.wait_until(settled, timeout=budget, interval=0.5)
    if done:  # an order may have been deleted before it was recorded
        _quiet(ctx, workers, _processing(ctx) + 1.5)
    settled_at = time.monotonic() - started if done else None
    output = _tails(ctx)
    calls = Counter[str]()
    for w in workers:
        calls.update(w.api_calls("sqs"))
    fired = [f"{f.get('op')}" for f in ctx.runner.fired("kill")]
    crashes = _crashes(workers)
    _stop_workers(ctx)
    ledger = _ledger(ctx)
    dead = _peek(ctx, dlq)
    in_dlq = {_order_of(m): int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0))
              for m in dead}
    return {"good": {g: ledger[g] for g in good}, "poison_in_dlq": poison in in_dlq,
            "poison_receives": in_dlq.get(poison, 0),
            "good_in_dlq": sorted(g for g in good if g in in_dlq),
            "poison_processed": ledger[poison], "source": ctx.message_counts(url),
            "good_seconds": round(good_at, 1) if good_at is not None else None,
            "settled_seconds": round(settled_at, 1) if settled_at is not None else None,
            "budget": round(budget, 1), "budget_note": ctx.budget_note(),
            "max_receive_count": receives, "visibility": visibility,
            "killed_after": fired, "crashes": crashes, "calls": dict(calls),
            "stopped_early": early, "output": output}


@check
def poison_isolated(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("poison_run")
    receives = run["max_receive_count"]
    want = (f"the poison message moved to `{ctx.name('orders-dlq')}` by SQS after "
            f"{receives} failed receives")
    evidence = {k: v for k, v in run.items() if k != "output"}
    if run["poison_in_dlq"]:
        # The tutor's own look at the DLQ counts as one more receive.
        if run["poison_receives"] >= receives:
            return passed(want, f"it there after {run['settled_seconds']} s "
                          f"({receives} receives, {run['visibility']} s visibility timeout)",
                          **evidence)
        return failed(want, f"it in the DLQ after {max(run['poison_receives'] - 1, 0)} "
                      "receive(s) of lab04-orders: your worker sends a failed message to the "
                      "DLQ itself, so a message that failed once by bad luck is never "
                      "retried, and it loses the source queue a redrive sends it back to",
                      **evidence, output=run["output"])
    visible, in_flight = run["source"]
    if visible or in_flight:
        resent = run["calls"].get("SendMessage", 0) + run["calls"].get("SendMessageBatch", 0)
        when = (f" (the tutor stopped early: {run['stopped_early']})" if run["stopped_early"]
                else run["budget_note"])
        found = (f"it still in `{ctx.name('orders')}` ({visible} visible, {in_flight} in "
                 f"flight) when the tutor stopped waiting{when}")
        if resent:
            found += (": your worker sends a failed message again, and the copy starts "
                      "with a receive count of 0, so SQS never dead-letters it")
        elif run["crashes"]:
            found += (f": your workers crashed {len(run['crashes'])} times (exit code "
                      f"{run['crashes'][0]}) instead of leaving the message for a retry")
        return failed(want, found, **evidence, output=run["output"])
    return failed(want, "neither queue holding it: the worker deleted a message it failed to "
                  "process, so it is lost", **evidence, output=run["output"])


@check
def good_orders_flow(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("poison_run")
    good: dict[str, int] = run["good"]
    want = "the 3 good orders processed exactly once while the poison message was retried"
    evidence = {"good": good, "killed_after": run["killed_after"], "crashes": run["crashes"]}
    lost = [g for g, n in good.items() if n == 0 and g not in run["good_in_dlq"]]
    again = {g: n for g, n in good.items() if n > 1}
    if run["good_in_dlq"]:
        return failed(want, f"{len(run['good_in_dlq'])} good order(s) in the DLQ: your worker "
                      "did not delete orders it had processed, so they were received again "
                      "until SQS dead-lettered them", **evidence, output=run["output"])
    if again:
        return failed(want, f"{len(again)} good order(s) processed more than once "
                      f"({max(again.values())}x): your worker does not delete an order once "
                      "it is processed, so it comes back after the visibility timeout",
                      **evidence, output=run["output"])
    if lost and run["killed_after"]:
        return failed(want, f"{len(lost)} good order(s) never processed and in no queue: the "
                      f"tutor crashed a worker (SIGKILL) right after its first "
                      f"{run['killed_after'][0]}, and the order it had just deleted was never "
                      "recorded; your worker deletes a message before it is processed, so a "
                      "crash in between loses it", **evidence, output=run["output"])
    if lost:
        return failed(want, f"{len(lost)} good order(s) never processed",
                      **evidence, output=run["output"])
    if run["crashes"]:
        return failed(want, f"each good order once, but your workers crashed "
                      f"{len(run['crashes'])} times by themselves (exit code "
                      f"{run['crashes'][0]}): an exception escaped the receive loop; catch "
                      "it and leave the message for SQS to retry", **evidence,
                      output=run["output"])
    crashed = ", although the tutor crashed a worker once" if run["killed_after"] else ""
    return passed(want, f"all done in {run['good_seconds']} s{crashed}", **evidence)


# --- step 4: fix the worker, redrive the DLQ, lose nothing --------------------------------


def _dead_letter(ctx: CheckContext, url: str, dlq: str, receives: int, count: int) -> int:
    """Last night's broken worker, replayed fast: receive without deleting, visibility 0,
    until SQS has moved `count` orders to the DLQ. The number there."""
    sqs = ctx.client("sqs")
    for _ in range(10 * (receives + 2)):  # bounded; a receive may return fewer than asked
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                            WaitTimeSeconds=0)
        if ctx.message_counts(dlq)[0] >= count:
            break
        time.sleep(0.05)
    return ctx.message_counts(dlq)[0]


def _tasks(ctx: CheckContext) -> list[dict[str, Any]]:
    return [{k: t.get(k) for k in ("Status", "ApproximateNumberOfMessagesMoved",
                                   "ApproximateNumberOfMessagesToMove", "DestinationArn",
                                   "FailureReason", "MaxNumberOfMessagesPerSecond")}
            for t in ctx.move_tasks("orders-dlq")]


@scenario(timeout=70)
def redrive_run(ctx: CheckContext) -> dict[str, Any]:
    """Dead-letter three mobile-app orders and one garbage order, run redrive.py, then the
    (fixed) workers, with one more order from the web shop (quantity as a number)."""
    url, dlq = ctx.require_queue_url("orders"), ctx.require_queue_url("orders-dlq")
    ctx.clear(url)
    ctx.clear(dlq)
    (ctx.workspace / LEDGER).unlink(missing_ok=True)
    receives, _ = _settings(ctx)
    run = uuid.uuid4().hex[:6]
    app = [f"o-{run}-app{i}" for i in range(3)]
    garbage = f"o-{run}-garbage"
    web = f"o-{run}-web"
    bodies = [json.dumps({"order": o, "quantity": str(i + 1)}) for i, o in enumerate(app)]
    bodies.append(json.dumps({"order": garbage, "quantity": "three"}))
    ctx.runner.burst(url, len(bodies), body=lambda i: bodies[i], threads=1)
    dead = _dead_letter(ctx, url, dlq, receives, len(bodies))
    if dead < len(bodies):
        raise ScenarioFailed(f"only {dead} of {len(bodies)} failed orders reached the DLQ "
                             "while preparing the redrive",
                             fix="check the redrive policy (step 1)")
    redrive = ctx.runner.run("redrive.py", timeout=30)
    at_exit = {"dlq": ctx.message_counts(dlq), "tasks": _tasks(ctx)}
    ctx.runner.wait_until(lambda: ctx.message_counts(dlq) == (0, 0), timeout=5)
    after_redrive = ctx.message_counts(dlq)[0]
    tasks = _tasks(ctx)
    ctx.runner.burst(url, 1, body=lambda i: json.dumps({"order": web, "quantity": 2}),
                     threads=1)
    started = time.monotonic()
    workers = [ctx.runner.start("worker.py") for _ in range(WORKERS)]
    # 5 orders, 2 workers, 2 s each: 3 rounds, and the start of the workers.
    budget = ctx.budget(6 * _processing(ctx) + 10, f"5 orders of {_processing(ctx):g} s "
                        f"for {WORKERS} workers")

    def settled() -> bool:
        # Every order was received (none visible) and no worker holds one: each order
        # was processed, or failed and waits out its visibility timeout.
        return ctx.message_counts(url)[0] == 0 and all(w.idle() for w in workers)

    ctx.runner.wait_until(settled, timeout=budget, interval=0.3)
    seconds = time.monotonic() - started
    output = _tails(ctx)
    _stop_workers(ctx)
    ledger = _ledger(ctx)
    result = {"orders": {o: ledger[o] for o in app}, "web": ledger[web],
              "garbage": ledger[garbage], "dlq_after_redrive": after_redrive,
              "at_exit": at_exit, "move_tasks": tasks, "source": ctx.message_counts(url),
              "dlq": ctx.message_counts(dlq), "seconds": round(seconds, 1),
              "redrive_output": redrive.output(10), "output": output}
    ctx.clear(url)  # the garbage order, in flight, would come back in the next run
    return result


@check
def dlq_redriven(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("redrive_run")
    want = (f"redrive.py to move the 4 dead-lettered orders out of "
            f"`{ctx.name('orders-dlq')}` back to `{ctx.name('orders')}` with a message move "
            "task, and to wait until the task is done")
    tasks, at_exit = run["move_tasks"], run["at_exit"]
    evidence = {"move_tasks": tasks, "at_exit": at_exit,
                "redrive_output": run["redrive_output"]}
    if not tasks:
        if run["dlq_after_redrive"] == 0:
            found = ("the DLQ emptied but no message move task started during this run: "
                     "redrive.py moved the messages itself instead of StartMessageMoveTask")
        else:
            found = (f"no message move task started during this run, and "
                     f"{run['dlq_after_redrive']} orders still in the DLQ")
        return failed(want, found, **evidence)
    task = tasks[0]
    destination = task.get("DestinationArn")
    if destination and destination != ctx.queue_arn("orders"):
        return failed(want, f"a move task to `{destination}`, not back to "
                      f"`{ctx.name('orders')}`", **evidence)
    first = at_exit["tasks"][0] if at_exit["tasks"] else {}
    if first.get("Status") == "RUNNING":
        return failed(want, f"redrive.py ended while its move task was still RUNNING "
                      f"({first.get('ApproximateNumberOfMessagesMoved', 0)} of "
                      f"{first.get('ApproximateNumberOfMessagesToMove', '?')} moved, "
                      f"{at_exit['dlq'][0]} still in the DLQ): it must wait until "
                      "ListMessageMoveTasks says the task is no longer RUNNING", **evidence)
    if task.get("Status") == "FAILED":
        return failed(want, f"the move task FAILED: {task.get('FailureReason') or 'no reason'}",
                      **evidence)
    if run["dlq_after_redrive"]:
        return failed(want, f"{run['dlq_after_redrive']} orders still in the DLQ after the "
                      f"move task ({task.get('Status')})", **evidence)
    return passed(want, f"a move task {task.get('Status')}, "
                  f"{task.get('ApproximateNumberOfMessagesMoved')} messages moved", **evidence)


@check
def fixed_worker(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("redrive_run")
    orders: dict[str, int] = run["orders"]
    want = ("the 3 redriven mobile-app orders (quantity sent as a string) and the web-shop "
            "order (quantity as a number) each processed exactly once")
    done = sum(1 for v in orders.values() if v == 1) + (1 if run["web"] == 1 else 0)
    total = len(orders) + 1
    evidence = {"orders": orders, "web": run["web"], "move_tasks": run["move_tasks"]}
    problems = []
    strings = sum(1 for v in orders.values() if v == 0)
    if strings and run["dlq_after_redrive"] == 0 and run["move_tasks"]:
        problems.append(f"{strings} mobile-app order(s) failed again: handle() still rejects "
                        "a quantity sent as a string of digits")
    elif strings:
        problems.append(f"{strings} mobile-app order(s) never processed (were they moved "
                        "back to lab04-orders?)")
    if run["web"] == 0:
        problems.append("the web-shop order with `\"quantity\": 2` failed: handle() now "
                        "rejects a quantity sent as a number")
    again = sum(1 for v in orders.values() if v > 1) + (1 if run["web"] > 1 else 0)
    if again:
        problems.append(f"{again} processed more than once")
    found = f"{done} of {total} processed once" + (": " + "; ".join(problems) if problems
                                                   else "")
    return partial(done / total, want, found, **evidence,
                   output="" if done == total else run["output"])


@check
def garbage_fails(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("redrive_run")
    want = ('the order with `"quantity": "three"` still rejected by handle() and left for '
            "SQS to retry and dead-letter")
    if run["garbage"]:
        return failed(want, f"it processed {run['garbage']}x: handle() now accepts garbage "
                      "as a quantity (what did it charge for \"three\"?)",
                      output=run["output"])
    waiting = sum(run["source"]) + sum(run["dlq"])
    unprocessed_good = sum(1 for v in run["orders"].values() if v == 0) + (
        1 if run["web"] == 0 else 0)
    if waiting <= unprocessed_good:
        return failed(want, "it neither processed nor in a queue: your worker deleted an "
                      "order it could not process, so it is lost", source=run["source"],
                      dlq=run["dlq"], output=run["output"])
    return passed(want, "it rejected and kept in the queue", source=run["source"])


@check
def nothing_lost(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("redrive_run")
    orders: dict[str, int] = {**run["orders"], "web": run["web"], "garbage": run["garbage"]}
    processed = sum(1 for v in orders.values() if v)
    waiting = sum(run["source"]) + sum(run["dlq"])
    want = "every order either processed or still waiting in a queue (none lost)"
    ok = processed + waiting >= len(orders)
    found = (f"{processed} processed, {waiting} waiting" if ok else
             f"{processed} processed, {waiting} waiting: "
             f"{len(orders) - processed - waiting} deleted without being processed")
    return expect(ok, want, found, orders=orders, source=run["source"], dlq=run["dlq"])
