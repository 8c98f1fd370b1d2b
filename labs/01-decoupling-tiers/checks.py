"""Checks for lab 01: decoupling the web tier from a slow or failing downstream with SQS."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from types import ModuleType
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
    skipped,
)
from tutor.engine.labs.scenario import node_binary

LAB_DIR = Path(__file__).resolve().parent


def _load(path: Path, name: str) -> ModuleType:
    """A module of this lab's folder (the loader does not put the folder on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


tiers = _load(LAB_DIR / "stack.py", "tutor_lab01_stack")
node_sdk = _load(LAB_DIR / "node_sdk.py", "tutor_lab01_node_sdk")


# --- helpers -------------------------------------------------------------------------

def _contract() -> ModuleType:
    """The lab's own copy of the contract validator (not the learner's workspace copy)."""
    return _load(LAB_DIR / "starter" / "contract" / "order_contract.py",
                 "tutor_lab01_order_contract")


def _order(run: str, n: int) -> dict[str, Any]:
    return {"order_id": f"{run}-{n}", "customer": f"customer-{n % 7}",
            "items": [{"sku": f"SKU-{n % 5}", "qty": 1 + n % 3}], "total_cents": 999 + n}


def _depth(ctx: CheckContext, url: str) -> int:
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + \
        int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _effects(ctx: CheckContext, run: str) -> list[dict[str, Any]]:
    path = ctx.workspace / "downstream.jsonl"
    rows = []
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                row = json.loads(line)
                if str(row.get("order_id", "")).startswith(run + "-"):
                    rows.append(row)
    return rows


def _require_queue(ctx: CheckContext) -> str:
    url = ctx.queue_url("orders")
    if url is None:
        raise ScenarioFailed(f"the queue `{ctx.name('orders')}` does not exist",
                             fix="create it in infra.py and run `python infra.py`")
    return url


# --- step 1: the queue ---------------------------------------------------------------

@check
def queue_exists(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders")
    if attrs is None:
        return failed(f"the queue `{ctx.name('orders')}`", "no such queue")
    return passed(f"the queue `{ctx.name('orders')}`", "it exists",
                  queue_arn=attrs.get("QueueArn"))


@check
def visibility_timeout(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders") or {}
    want = ctx.clock.seconds("visibility_timeout")
    work = ctx.clock.seconds("downstream_timeout")
    value = float(attrs.get("VisibilityTimeout", "nan"))
    ok = value == want
    return expect(ok, f"VisibilityTimeout={want:g} s: above the worker's {work:g} s downstream "
                  "timeout, short enough to retry soon "
                  f"({ctx.clock.explain('visibility_timeout')})",
                  f"VisibilityTimeout={attrs.get('VisibilityTimeout', 'absent')}")


# --- step 2: the web tier publishes the contract --------------------------------------------

@scenario(timeout=40)
def publish(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx)
    sqs = ctx.client("sqs")
    sqs.purge_queue(QueueUrl=url)
    run = uuid.uuid4().hex[:8]
    stack = tiers.Stack(ctx, run)  # no downstream and no worker at all: only the web tier
    stack.start_frontend()
    replies = tiers.post_orders(stack.base, [_order(run, n) for n in range(6)], threads=3)
    assert stack.frontend is not None
    stack.frontend.stop(grace=1.0)
    validate = _contract().validate
    messages = []
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        for message in got:
            try:
                body = json.loads(message["Body"])
            except ValueError:
                body = message["Body"]
            messages.append({"body": body, "problems": validate(body)})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    mine = [m for m in messages
            if isinstance(m["body"], dict) and str(m["body"].get("order_id", "")).startswith(run)]
    return {"run": run, "replies": replies, "messages": mine, "output": stack.outputs()}


@check
def accepts_without_downstream(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("publish")
    replies = result["replies"]
    ok = [r for r in replies if 200 <= r["status"] < 300]
    budget = ctx.clock.seconds("latency_budget")
    worst = tiers.p95([r["seconds"] for r in replies])
    score = len(ok) / len(replies) * (1.0 if worst <= budget else 0.5)
    statuses = Counter(str(r["status"]) for r in replies)
    return partial(score, f"all {len(replies)} orders accepted (2xx) with p95 <= "
                   f"{budget * 1000:.0f} ms while NO downstream runs",
                   f"{len(ok)} accepted, statuses {dict(statuses)}, p95 {worst * 1000:.0f} ms",
                   replies=replies[:6], frontend_output=result["output"])


@check
def contract_messages(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("publish")
    messages = result["messages"]
    want = len(result["replies"])
    valid = [m for m in messages if not m["problems"]]
    ids = Counter(m["body"].get("order_id") for m in messages)
    if not messages:
        return failed(f"{want} order.v1 messages in `{ctx.name('orders')}`", "no message",
                      frontend_output=result["output"])
    problems = [p for m in messages for p in m["problems"]][:6]
    score = min(len(valid), len(ids)) / want
    return partial(score, f"{want} messages, one per order, each valid against "
                   "contract/order.v1.schema.json",
                   f"{len(messages)} messages, {len(valid)} valid" +
                   (f"; problems: {problems}" if problems else ""),
                   example=messages[0]["body"])


# --- step 3: the worker, and isolation from a failing / slow downstream ----------------------

@scenario(timeout=75)
def outage(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx)
    ctx.client("sqs").purge_queue(QueueUrl=url)
    (ctx.workspace / "downstream.jsonl").unlink(missing_ok=True)
    run = uuid.uuid4().hex[:8]
    stack = tiers.Stack(ctx, run)
    clock = ctx.clock
    stack.start_downstream()
    stack.start_frontend()
    stack.start_consumer("worker.py")
    orders = [_order(run, n) for n in range(40)]
    phases: dict[str, list[dict[str, Any]]] = {}
    phases["normal"] = tiers.post_orders(stack.base, orders[:5])

    # Downstream down: the outage lasts clock `outage` seconds.
    stack.stop_downstream()
    down_at = time.monotonic()
    phases["down"] = tiers.post_orders(stack.base, orders[5:25], rate=20)
    time.sleep(max(0.0, down_at + clock.seconds("outage") - time.monotonic()))

    # Downstream back but slow: every fulfilment takes longer than the worker waits.
    stack.start_downstream(delay=clock.seconds("slow_response"))
    slow_at = time.monotonic()
    phases["slow"] = tiers.post_orders(stack.base, orders[25:40], rate=10)
    time.sleep(max(0.0, slow_at + clock.seconds("outage") - time.monotonic()))

    # Recovered: the backlog must drain.
    stack.set_delay(0.0)
    recovered = time.monotonic()
    accepted = {r["order_id"] for rs in phases.values() for r in rs if 200 <= r["status"] < 300}

    def drained() -> bool:
        # Empty and nothing in flight: every accepted order was fulfilled or dropped.
        return _depth(ctx, url) == 0

    finished = ctx.runner.wait_until(drained, timeout=25, interval=0.3)
    drain_seconds = time.monotonic() - recovered
    worker_alive = stack.consumer is not None and stack.consumer.alive
    time.sleep(0.5)  # a late duplicate would show up now
    return {"run": run, "phases": phases, "accepted": sorted(accepted),
            "effects": _effects(ctx, run), "depth": _depth(ctx, url), "finished": finished,
            "drain_seconds": round(drain_seconds, 2), "worker_alive": worker_alive,
            "output": stack.outputs()}


def _phase_outcome(ctx: CheckContext, phase: str, what: str) -> Outcome:
    result = ctx.scenario("outage")
    replies = result["phases"][phase]
    ok = [r for r in replies if 200 <= r["status"] < 300]
    budget = ctx.clock.seconds("latency_budget")
    worst = tiers.p95([r["seconds"] for r in replies])
    fast = worst <= budget
    score = (0.5 if fast else 0.0) + 0.5 * len(ok) / len(replies)
    statuses = Counter(str(r["status"]) for r in replies)
    return partial(score, f"the frontend to accept all {len(replies)} orders with p95 <= "
                   f"{budget * 1000:.0f} ms while downstream is {what}",
                   f"{len(ok)} accepted, statuses {dict(statuses)}, p95 "
                   f"{worst * 1000:.0f} ms", p95_ms=round(worst * 1000, 1),
                   normal_p95_ms=round(tiers.p95([r["seconds"] for r in
                                            result["phases"]["normal"]]) * 1000, 1),
                   replies=replies[:5])


@check
def fast_while_down(ctx: CheckContext) -> Outcome:
    return _phase_outcome(ctx, "down", "down")


@check
def fast_while_slow(ctx: CheckContext) -> Outcome:
    slow = ctx.clock.seconds("slow_response")
    return _phase_outcome(ctx, "slow", f"slow ({slow:g} s per order)")


@check
def nothing_lost(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    sent = [r["order_id"] for rs in result["phases"].values() for r in rs]
    done = {e["order_id"] for e in result["effects"]}
    lost = [o for o in sent if o not in done]
    return partial((len(sent) - len(lost)) / len(sent),
                   f"all {len(sent)} orders fulfilled downstream after it recovered",
                   f"{len(sent) - len(lost)} fulfilled, {len(lost)} lost (refused by the "
                   "frontend, or deleted from the queue without being fulfilled)",
                   lost=lost[:8], worker_alive=result["worker_alive"],
                   output=result["output"])


@check
def exactly_once(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    counts = Counter(e["order_id"] for e in result["effects"])
    if not counts:
        return failed("each order fulfilled exactly once", "no order fulfilled at all",
                      output=result["output"])
    twice = {o: n for o, n in counts.items() if n > 1}
    return partial((len(counts) - len(twice)) / len(counts),
                   "each order fulfilled exactly once although SQS redelivered messages "
                   "(idempotency key)", f"{len(twice)} of {len(counts)} orders fulfilled "
                   "more than once" if twice else f"{len(counts)} orders, each once",
                   fulfilled_twice=dict(list(twice.items())[:8]),
                   keys_sent=sum(1 for e in result["effects"] if e.get("key")))


@check
def backlog_drained(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    return expect(result["finished"] and result["depth"] == 0,
                  f"the backlog drained and `{ctx.name('orders')}` empty within 25 s of "
                  "recovery", f"{result['depth']} messages left after "
                  f"{result['drain_seconds']} s" if not result["finished"] else
                  f"drained in {result['drain_seconds']} s, {result['depth']} left",
                  drain_seconds=result["drain_seconds"], worker_alive=result["worker_alive"])


@check
def contract_kept(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    effects = result["effects"]
    if not effects:
        return failed("downstream to receive order.v1 bodies", "nothing reached it")
    bad = [e for e in effects if not e.get("contract_ok")]
    return partial((len(effects) - len(bad)) / len(effects),
                   "every body that reached downstream to be a valid order.v1 message",
                   f"{len(bad)} of {len(effects)} invalid" + (
                       f": {bad[0].get('problems')}" if bad else ""))


# --- step 4: a second consumer in Node.js ------------------------------------------------------

@scenario(timeout=90)
def node_flow(ctx: CheckContext) -> dict[str, Any]:
    if node_binary() is None:
        return {"skipped": "Node.js is not installed"}
    url = _require_queue(ctx)
    why = node_sdk.ensure_sdk(ctx.workspace, LAB_DIR)
    if why:
        return {"skipped": why}
    ctx.client("sqs").purge_queue(QueueUrl=url)
    (ctx.workspace / "downstream.jsonl").unlink(missing_ok=True)
    run = uuid.uuid4().hex[:8]
    stack = tiers.Stack(ctx, run)
    stack.start_frontend()
    stack.start_consumer("node/consumer.mjs")  # downstream is down at first
    replies = tiers.post_orders(stack.base, [_order(run, n) for n in range(8)], threads=4)
    time.sleep(ctx.clock.seconds("visibility_timeout") + 0.5)  # failures, redeliveries
    stack.start_downstream()
    sent = {r["order_id"] for r in replies}

    def drained() -> bool:
        return sent <= {e["order_id"] for e in _effects(ctx, run)} and _depth(ctx, url) == 0

    finished = ctx.runner.wait_until(drained, timeout=15, interval=0.3)
    time.sleep(0.3)
    return {"run": run, "replies": replies, "effects": _effects(ctx, run),
            "finished": finished, "depth": _depth(ctx, url),
            "consumer_alive": bool(stack.consumer and stack.consumer.alive),
            "output": stack.outputs()}


@check
def node_fulfils_once(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("node_flow")
    if result.get("skipped"):
        return skipped(result["skipped"])
    sent = [r["order_id"] for r in result["replies"]]
    counts = Counter(e["order_id"] for e in result["effects"])
    once = [o for o in sent if counts.get(o) == 1]
    return partial(len(once) / len(sent), f"the Node.js consumer to fulfil all {len(sent)} "
                   "orders exactly once (downstream was down for the first seconds)",
                   f"{len(once)} fulfilled once, {sum(1 for o in sent if o not in counts)} "
                   f"never, {sum(1 for n in counts.values() if n > 1)} more than once",
                   consumer_alive=result["consumer_alive"],
                   consumer_output=result["output"].get("node/consumer.mjs", ""))


@check
def node_drains(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("node_flow")
    if result.get("skipped"):
        return skipped(result["skipped"])
    return expect(result["finished"] and result["depth"] == 0,
                  f"`{ctx.name('orders')}` empty: the Node.js consumer deletes what it "
                  "fulfilled", f"{result['depth']} messages left",
                  consumer_output=result["output"].get("node/consumer.mjs", ""))
