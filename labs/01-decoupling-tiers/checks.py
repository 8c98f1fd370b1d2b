"""Checks for lab 01: decoupling the web tier from a slow or failing downstream with SQS."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from tutor.engine.labs import faults
from tutor.engine.labs.checks import (
    LATENCY_LOAD_FACTOR,
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


def _extra(run: str, count: int) -> list[dict[str, Any]]:
    """Orders that only time the frontend: no check counts them (not this run's ids)."""
    tag = f"t{uuid.uuid4().hex[:4]}{run}"
    return [_order(tag, n) for n in range(count)]


def _timing(replies: list[dict[str, Any]]) -> list[float]:
    return [r["seconds"] for r in replies]


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

# --- step 2: the web tier publishes the contract --------------------------------------------

# The web tier's fault: SQS refuses one SendMessage (or SendMessageBatch) of a measured
# order (the first send is the warm-up's). The order must then not be accepted: 202
# promises the message is stored.
PUBLISH_FAULTS = (
    faults.api_error("sqs", "SendMessage", nth=[3], code="ServiceUnavailable", status=503,
                     id="send-fails"),
    faults.api_error("sqs", "SendMessageBatch", nth=[2], code="ServiceUnavailable",
                     status=503, id="send-batch-fails"),
)


def _final(replies: list[dict[str, Any]], again: list[dict[str, Any]]) -> dict[str, int]:
    """order id -> the status the client ended with (after its one retry)."""
    final = {r["order_id"]: int(r["status"]) for r in replies}
    final.update({r["order_id"]: int(r["status"]) for r in again})
    return final


@scenario(timeout=40)
def publish(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx)
    sqs = ctx.client("sqs")
    sqs.purge_queue(QueueUrl=url)
    run = uuid.uuid4().hex[:8]
    ctx.runner.inject(*PUBLISH_FAULTS)
    stack = tiers.Stack(ctx, run)  # no downstream and no worker at all: only the web tier
    stack.start_frontend()
    # One order first, not measured: a frontend's first request may pay for its lazy set-up
    # (clients, the queue URL). Its id is not this run's, so no check counts it.
    tiers.post_orders(stack.base, [_order(f"warm{run}", 0)], threads=1)
    orders = [_order(run, n) for n in range(6)]
    replies = tiers.post_orders(stack.base, orders, threads=3)
    # Six answers make a p95 that one stall of a loaded machine decides: more rounds of six,
    # timed only (their orders are not this run's), and the fastest round counts.
    timing, rtt, _ = ctx.timed_rounds(
        [r["seconds"] for r in replies],
        lambda: _timing(tiers.post_orders(stack.base, _extra(run, 6), threads=3)),
        lambda rtt: _latency_budget(ctx, rtt)[0])
    # A client retries, once, an order that was not accepted (5xx, or no answer).
    refused = {r["order_id"] for r in replies if not 200 <= r["status"] < 300}
    again = tiers.post_orders(stack.base, [o for o in orders if o["order_id"] in refused],
                              threads=1) if refused else []
    time.sleep(0.5)  # a message published after the answer lands meanwhile
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
    return {"run": run, "replies": replies, "again": again, "messages": mine, "rtt": rtt,
            "timing": timing, "stray": len(messages) - len(mine),
            "fired": [str(f.get("id")) for f in ctx.runner.fired()],
            "output": stack.outputs()}


@check
def accepts_without_downstream(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("publish")
    replies, again = result["replies"], result["again"]
    final = _final(replies, again)
    budget, allowance = _latency_budget(ctx, result["rtt"])
    worst = tiers.p95(result.get("timing") or [r["seconds"] for r in replies])
    want = (f"all {len(final)} orders answered 202 Accepted with p95 <= "
            f"{budget * 1000:.0f} ms{allowance} while NO downstream runs (a client retries "
            "an order "
            "that was not accepted, once)")
    accepted = [o for o, st in final.items() if st == 202]
    other = Counter(str(st) for st in final.values() if 200 <= st < 300 and st != 202)
    refused = Counter(str(st) for st in final.values() if not 200 <= st < 300)
    found = f"{len(accepted)} answered 202, p95 {worst * 1000:.0f} ms"
    problems = []
    if other:
        problems.append(f"answers {dict(other)} where the step asks for 202 Accepted: the "
                        "order is stored, not yet fulfilled (200 OK and 201 Created say the "
                        "work is done)")
    if refused:
        problems.append(f"{sum(refused.values())} refused even when retried (statuses "
                        f"{dict(refused)}; 0 means no answer)")
    if worst > budget:
        problems.append("too slow: something in the request path still waits (for "
                        "downstream, or a new client per request?)")
    if again and not problems:
        found += (" (the tutor made SQS refuse one SendMessage: your frontend did not "
                  "accept that order, and accepted the client's retry)")
    score = len(accepted) / len(final) * (1.0 if worst <= budget else 0.5)
    return partial(score, want, found + ("; " + "; ".join(problems) if problems else ""),
                   replies=replies[:6], retried=again, frontend_output=result["output"])


@check
def contract_messages(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("publish")
    messages = result["messages"]
    final = _final(result["replies"], result["again"])
    want = (f"one valid order.v1 message (contract/order.v1.schema.json) for each of the "
            f"{len(final)} orders, and one for every order answered 2xx")
    if not messages:
        return failed(want, "no message", frontend_output=result["output"])
    per_order = Counter(str(m["body"].get("order_id")) for m in messages)
    valid = [m for m in messages if not m["problems"]]
    problems: list[str] = []
    lost = [o for o, st in final.items() if 200 <= st < 300 and not per_order.get(o)]
    if lost:
        line = f"orders {lost[:3]} were answered {final[lost[0]]} but never reached the queue"
        if result["fired"]:
            line += (": the tutor made SQS refuse one of your frontend's sends, and it "
                     "answered success anyway — answer 202 only once SendMessage returned, "
                     "and an error (5xx) when it failed, so the client retries")
        problems.append(line)
    twice = {o: n for o, n in per_order.items() if n > 1}
    if twice:
        problems.append(f"{len(twice)} orders published more than once "
                        f"({dict(list(twice.items())[:3])}): one order, one message")
    bad = [p for m in messages for p in m["problems"]][:4]
    if bad:
        problems.append(f"{len(messages) - len(valid)} of {len(messages)} messages break the "
                        f"contract: {bad}")
    good = sum(1 for o in final if per_order.get(o) == 1)
    score = max(0.0, min(good, len(valid)) / len(final))
    found = f"{len(messages)} messages, {len(valid)} valid"
    return partial(1.0 if not problems else min(score, 0.99), want,
                   found + ("; " + "; ".join(problems) if problems else ""),
                   example=messages[0]["body"], per_order=dict(per_order))


# --- step 3: the worker, and isolation from a failing / slow downstream ----------------------

# The worker's faults: crashes right before and right after a delete (the message of an
# order downstream fulfilled comes back; an order deleted before its fulfilment is lost),
# and one message delivered twice. A supervisor restarts the worker after each crash.
WORKER_FAULTS = (
    faults.kill("DeleteMessage", when="before", nth=[3], id="kill-before-delete"),
    faults.kill("DeleteMessageBatch", when="before", nth=[1], id="kill-before-delete-batch"),
    faults.duplicate(4, id="redeliver"),
)
# Added when downstream goes down (the worker re-reads its fault plan): the first two
# deletes from then on (one may be of a copy the tutor delivered twice). A worker that
# deletes only after downstream confirmed deletes nothing until downstream is back, so the
# crash is harmless; one that deletes first (and sends a failed order back to the queue
# itself) loses the order it had just deleted.
OUTAGE_FAULTS = (
    faults.kill("DeleteMessage", when="after", nth=[1, 2], id="kill-after-delete",
                running=True),
    faults.kill("DeleteMessageBatch", when="after", nth=[1, 2], id="kill-after-delete-batch",
                running=True),
)
WORKER_RESTARTS = 5
# After recovery the tutor waits while orders keep being fulfilled, up to DRAIN_SECONDS,
# and stops once STALL_SECONDS pass without a new fulfilment (a hidden message comes back
# after the 2 s visibility timeout, a restarted worker needs a few seconds on a busy
# machine; the reference worker drains the backlog in about 3 s).
DRAIN_SECONDS = 60
STALL_SECONDS = 10
RETRIED = 2  # orders of the normal phase that the client posts a second time


def _own_crashes(program: Any) -> list[int]:
    """Exit codes of a supervised program's incarnations that ended by themselves (the
    tutor's injected crashes are SIGKILLs, -9)."""
    if program is None:
        return []
    codes = list(program.crashes())
    last = program.proc.poll()
    if last is not None:
        codes.append(last)
    return [c for c in codes if c != -9]


@scenario(timeout=90)
def outage(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx)
    ctx.client("sqs").purge_queue(QueueUrl=url)
    (ctx.workspace / "downstream.jsonl").unlink(missing_ok=True)
    run = uuid.uuid4().hex[:8]
    stack = tiers.Stack(ctx, run)
    clock = ctx.clock
    stack.start_downstream()
    stack.start_frontend()
    ctx.runner.inject(*WORKER_FAULTS)  # for the worker only (started after)
    # TUTOR_FAULTS_RELOAD: the worker's hook re-reads the plan when it changes (OUTAGE_FAULTS).
    stack.start_consumer("worker.py", restarts=WORKER_RESTARTS,
                         env={"TUTOR_FAULTS_RELOAD": "1"})
    orders = [_order(run, n) for n in range(40)]
    phases: dict[str, list[dict[str, Any]]] = {}
    phases["normal"] = tiers.post_orders(stack.base, orders[:5])
    # A client that timed out posts the same order again: one order, two messages.
    retried = tiers.post_orders(stack.base, orders[:RETRIED], threads=1)
    # The outage starts once the normal orders are through (and the tutor's first crashes
    # with them), so the worker is running while downstream is down, even on a slow machine.
    normal = {o["order_id"] for o in orders[:5]}
    ctx.runner.wait_until(lambda: normal <= {e["order_id"] for e in _effects(ctx, run)}
                          and _depth(ctx, url) == 0
                          and (stack.consumer is None or stack.consumer.alive),
                          timeout=15, interval=0.2)

    # Downstream down: the outage lasts clock `outage` seconds.
    stack.stop_downstream()
    down_at = time.monotonic()
    ctx.runner.inject(*OUTAGE_FAULTS)
    phases["down"] = tiers.post_orders(stack.base, orders[5:25], rate=20)
    timing, rtts = {}, {}
    timing["down"], rtts["down"], _ = _phase_rounds(ctx, stack, run, phases["down"], 20)
    time.sleep(max(0.0, down_at + clock.seconds("outage") - time.monotonic()))

    # Downstream back but slow: every fulfilment takes longer than the worker waits.
    stack.start_downstream(delay=clock.seconds("slow_response"))
    slow_at = time.monotonic()
    phases["slow"] = tiers.post_orders(stack.base, orders[25:40], rate=10)
    timing["slow"], rtts["slow"], _ = _phase_rounds(ctx, stack, run, phases["slow"], 10)
    time.sleep(max(0.0, slow_at + clock.seconds("outage") - time.monotonic()))

    # Recovered: the backlog must drain.
    stack.set_delay(0.0)
    recovered = time.monotonic()
    accepted = {r["order_id"] for rs in phases.values() for r in rs if 200 <= r["status"] < 300}

    consumer = stack.consumer
    progress = {"count": -1, "at": time.monotonic()}

    def settled() -> bool:
        # Empty and nothing in flight (every accepted order was fulfilled or dropped), the
        # worker down for good, or no new fulfilment for STALL_SECONDS: waiting longer
        # changes nothing. While orders keep being fulfilled, the tutor keeps waiting.
        if _depth(ctx, url) == 0:
            return True
        if consumer is not None and consumer.finished:
            return True
        count = len(_effects(ctx, run))
        if count != progress["count"]:
            progress.update(count=count, at=time.monotonic())
        return time.monotonic() - progress["at"] > STALL_SECONDS

    ctx.runner.wait_until(settled, timeout=DRAIN_SECONDS, interval=0.3)
    finished = _depth(ctx, url) == 0
    drain_seconds = time.monotonic() - recovered
    worker_alive = consumer is not None and not consumer.finished  # up, or restarting
    time.sleep(0.5)  # a late duplicate would show up now
    events = consumer.events() if consumer is not None else []
    return {"run": run, "phases": phases, "accepted": sorted(accepted), "rtts": rtts,
            "timing": timing,
            "retried": [r["order_id"] for r in retried],
            "effects": _effects(ctx, run), "depth": _depth(ctx, url), "finished": finished,
            "drain_seconds": round(drain_seconds, 2), "worker_alive": worker_alive,
            "fired": [str(f.get("id")) for f in ctx.runner.fired()],
            "restarts": consumer.restarts if consumer else 0,
            "exits": consumer.crashes() if consumer else [],
            "own_crashes": _own_crashes(consumer),
            "deletes": sum(1 for e in events if e.get("kind") == "api"
                           and e.get("op") in ("DeleteMessage", "DeleteMessageBatch")
                           and not e.get("error")),
            "output": stack.outputs()}


def _phase_rounds(ctx: CheckContext, stack: tiers.Stack, run: str,
                  replies: list[dict[str, Any]], rate: float) -> tuple[list[float], float, int]:
    """The phase's fastest round of answers (ctx.timed_rounds): a round as many orders as
    the phase's, at its pace, timed only, while downstream is still as the phase left it."""
    return ctx.timed_rounds(
        _timing(replies),
        lambda: _timing(tiers.post_orders(stack.base, _extra(run, len(replies)), rate=rate)),
        lambda rtt: _latency_budget(ctx, rtt)[0])


def _latency_budget(ctx: CheckContext, rtt: float) -> tuple[float, str]:
    """The web tier's p95 budget (lab clock, for an idle machine) plus LATENCY_LOAD_FACTOR
    round trips of the tutor's own measured in the same run, and how to say it."""
    base = ctx.clock.seconds("latency_budget")
    extra = LATENCY_LOAD_FACTOR * rtt
    said = (f" ({base * 1000:.0f} ms + {LATENCY_LOAD_FACTOR:g} x the {rtt * 1000:.0f} ms "
            "LocalStack took to answer the tutor meanwhile)") if extra >= 0.005 else ""
    return base + extra, said


def _phase_outcome(ctx: CheckContext, phase: str, what: str) -> Outcome:
    result = ctx.scenario("outage")
    replies = result["phases"][phase]
    ok = [r for r in replies if 200 <= r["status"] < 300]
    budget, allowance = _latency_budget(ctx, result["rtts"][phase])
    timing = result.get("timing", {}).get(phase) or _timing(replies)
    worst = tiers.p95(timing)
    fast = worst <= budget
    score = (0.5 if fast else 0.0) + 0.5 * len(ok) / len(replies)
    statuses = Counter(str(r["status"]) for r in replies)
    middle = statistics.median(timing) if timing else 0.0
    found = (f"{len(ok)} accepted, statuses {dict(statuses)}, p95 {worst * 1000:.0f} ms "
             f"(median {middle * 1000:.0f} ms)")
    if len(ok) < len(replies):
        found += f": your frontend refuses orders while downstream is {what}"
    if not fast:
        if middle >= 0.9 * ctx.clock.seconds("downstream_timeout"):
            # Every answer waits: a coupled frontend is as slow as what it waits for.
            found += ": your frontend still waits for downstream (the tiers are coupled)"
        else:
            found += (": a few answers were slow (SQS on a busy machine? rerun the check if "
                      "your frontend only sends the message)")
    return partial(score, f"the frontend to accept all {len(replies)} orders with p95 <= "
                   f"{budget * 1000:.0f} ms{allowance} while downstream is {what}",
                   found, p95_ms=round(worst * 1000, 1),
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


FAULT_SAID = {
    "kill-before-delete": "crashed worker.py (SIGKILL) right before its 3rd DeleteMessage",
    "kill-after-delete": "crashed worker.py (SIGKILL) right after each of its first two "
                         "DeleteMessage calls once downstream was down",
    "kill-before-delete-batch": "crashed worker.py (SIGKILL) right before its first "
                                "DeleteMessageBatch",
    "kill-after-delete-batch": "crashed worker.py (SIGKILL) right after each of its first "
                               "two DeleteMessageBatch calls once downstream was down",
    "redeliver": "delivered one message twice",
}


def _did(result: dict[str, Any]) -> str:
    said = [FAULT_SAID[f] for f in dict.fromkeys(result["fired"]) if f in FAULT_SAID]
    return "the tutor " + ", ".join(said) if said else "no fault fired"


def _phase_of(result: dict[str, Any]) -> dict[str, str]:
    return {r["order_id"]: phase for phase, rs in result["phases"].items() for r in rs}


@check
def nothing_lost(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    sent = list(dict.fromkeys(r["order_id"] for rs in result["phases"].values() for r in rs))
    done = {e["order_id"] for e in result["effects"]}
    lost = [o for o in sent if o not in done]
    want = (f"all {len(sent)} orders fulfilled downstream after it recovered, through the "
            "outage and the tutor's crashes of worker.py")
    if not lost:
        return passed(want, f"{len(sent)} fulfilled ({_did(result)})",
                      restarts=result["restarts"])
    accepted = set(result["accepted"])
    refused = [o for o in lost if o not in accepted]
    dropped = [o for o in lost if o in accepted]
    phase = _phase_of(result)
    parts = []
    if refused:
        parts.append(f"{len(refused)} refused by the frontend (the web tier still depends on "
                     "downstream)")
    if dropped:
        line = f"{len(dropped)} accepted but never fulfilled"
        if result["depth"] == 0 and result["finished"]:
            while_down = sum(1 for o in dropped if phase.get(o) in ("down", "slow"))
            line += (": their messages are gone from the queue, so your worker deleted "
                     "messages that downstream never confirmed")
            if while_down:
                line += (f" ({while_down} of them arrived while downstream was down or slow: "
                         "it deletes whatever happened downstream)")
            if "kill-after-delete" in result["fired"] or \
                    "kill-after-delete-batch" in result["fired"]:
                line += (f"; {_did(result)}: a worker that deletes before downstream "
                         "confirmed loses the order when it crashes in between")
        elif not result["worker_alive"]:
            line += (f" ({result['depth']} messages still in the queue: worker.py stayed "
                     f"down after {result['restarts']} restarts, exit codes "
                     f"{result['exits']})")
        else:
            line += f" ({result['depth']} messages still in the queue)"
        parts.append(line)
    return partial((len(sent) - len(lost)) / len(sent), want,
                   f"{len(sent) - len(lost)} fulfilled, {len(lost)} lost: " + "; ".join(parts),
                   lost=lost[:8], worker_alive=result["worker_alive"],
                   fired=result["fired"], output=result["output"])


def _why_twice(effects: list[dict[str, Any]], twice: dict[str, int], retried: list[str],
               who: str) -> str:
    """Why orders were fulfilled twice, from the keys downstream saw."""
    if not any(e.get("key") for e in effects):
        return (f": your {who} sends no Idempotency-Key, so downstream cannot tell a "
                "redelivery from a new order")
    keyed = {o: {e.get("key") for e in effects if e["order_id"] == o} for o in twice}
    differ = {o: sorted(str(k) for k in ks) for o, ks in keyed.items() if len(ks) > 1}
    if not differ:
        return ": some calls carry no Idempotency-Key"
    order, ks = next(iter(differ.items()))
    line = (f": the Idempotency-Key differs between deliveries of one order (order {order}: "
            f"{ks[:2]}); a key taken from the SQS message (MessageId, ReceiptHandle) or "
            "made up per call changes, the order's order_id does not")
    if set(differ) <= set(retried):
        line += " — the client posted these orders twice, as two messages"
    return line


@check
def exactly_once(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    effects = result["effects"]
    counts = Counter(e["order_id"] for e in effects)
    want = ("each order fulfilled exactly once although SQS redelivered messages and a "
            "client posted an order twice (idempotency key)")
    if not counts:
        return failed(want, "no order fulfilled at all", output=result["output"])
    twice = {o: n for o, n in counts.items() if n > 1}
    keys = sum(1 for e in effects if e.get("key"))
    if not twice:
        return passed(want, f"{len(counts)} orders, each once ({_did(result)}, and SQS "
                      "redelivered the orders that timed out while downstream was slow)",
                      keys_sent=keys)
    found = (f"{len(twice)} of {len(counts)} orders fulfilled more than once" +
             _why_twice(effects, twice, result["retried"], "worker"))
    return partial((len(counts) - len(twice)) / len(counts), want, found,
                   fulfilled_twice=dict(list(twice.items())[:8]), keys_sent=keys,
                   fired=result["fired"])


@check
def backlog_drained(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    want = (f"the backlog drained and `{ctx.name('orders')}` empty after recovery (the "
            f"tutor waits while orders keep being fulfilled, up to {DRAIN_SECONDS} s)")
    if result["finished"]:
        found = f"drained in {result['drain_seconds']} s, {result['depth']} left"
    else:
        found = f"{result['depth']} messages left after {result['drain_seconds']} s"
        if not result["worker_alive"]:
            found += (f": worker.py stayed down after {result['restarts']} restarts (exit "
                      f"codes {result['exits']})")
        elif not result["deletes"]:
            found += ": your worker never deleted a message"
        else:
            found += f": no order was fulfilled in the last {STALL_SECONDS} s"
    return expect(result["finished"] and result["depth"] == 0, want, found,
                  drain_seconds=result["drain_seconds"], worker_alive=result["worker_alive"],
                  restarts=result["restarts"])


@check
def keeps_running(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    want = ("worker.py to keep running while downstream is down or slow (only the tutor's "
            "crashes stop it)")
    own = result["own_crashes"]
    if not own:
        return passed(want, f"no crash of its own ({result['restarts']} restarts after the "
                      "tutor's crashes)")
    out = result["output"].get("worker.py", "")
    last = next((line for line in reversed(out.splitlines()) if "Error" in line), "")
    return failed(want, f"{len(own)} crashes of its own (exit codes {own})" +
                  (f", e.g. `{last.strip()[:120]}`" if last else "") +
                  ": a failed downstream call must leave the message for SQS to retry, not "
                  "end the worker", output=out)


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

# How long the tutor waits for node/consumer.mjs to call downstream while it is down: 15 s
# on any machine, and while it still runs without having called, up to 45 s.
NODE_START_SECONDS = 15
NODE_START_MOST = 45


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
    refuser = stack.refuse_downstream()  # down at first, and it counts who called it
    try:
        stack.start_frontend()
        stack.start_consumer("node/consumer.mjs")
        orders = [_order(run, n) for n in range(8)]
        replies = tiers.post_orders(stack.base, orders, threads=4)
        retried = tiers.post_orders(stack.base, orders[:1], threads=1)  # a client's retry
        # Downstream stays down until the consumer has called it (Node.js and the SDK may
        # take many seconds to start on a busy machine: the tutor waits for the call, not
        # for a fixed time), then one visibility timeout more: failures and redeliveries
        # while it is down.
        consumer = stack.consumer
        assert consumer is not None
        ctx.wait_progressing(lambda: refuser.attempts > 0 or consumer.finished,
                             NODE_START_SECONDS, lambda: 0,
                             what="node/consumer.mjs's start", most=NODE_START_MOST,
                             interval=0.2, programs=(consumer,))
        met_outage = refuser.attempts > 0
        time.sleep(ctx.clock.seconds("visibility_timeout") + 0.5)
        # Back, but slow: a fulfilment outlasts the consumer's timeout; SQS redelivers it.
        stack.start_downstream(delay=ctx.clock.seconds("slow_response"))
    finally:
        refuser.close()
    calls_while_down = refuser.attempts
    time.sleep(3.0)
    stack.set_delay(0.0)
    sent = {r["order_id"] for r in replies}

    def drained() -> bool:
        return sent <= {e["order_id"] for e in _effects(ctx, run)} and _depth(ctx, url) == 0

    progress = {"count": -1, "at": time.monotonic()}

    def settled() -> bool:  # drained, or no new fulfilment for STALL_SECONDS
        if drained():
            return True
        count = len(_effects(ctx, run))
        if count != progress["count"]:
            progress.update(count=count, at=time.monotonic())
        return time.monotonic() - progress["at"] > STALL_SECONDS

    drain = ctx.budget(40, "the Node.js consumer's backlog, once downstream is back")
    ctx.runner.wait_until(settled, timeout=drain, interval=0.3)
    finished = drained()
    time.sleep(0.5)  # a late duplicate would show up now
    return {"run": run, "replies": replies, "retried": [r["order_id"] for r in retried],
            "met_outage": met_outage, "calls_while_down": calls_while_down,
            "effects": _effects(ctx, run), "finished": finished, "depth": _depth(ctx, url),
            "consumer_alive": bool(stack.consumer and not stack.consumer.finished),
            "consumer_ending": stack.consumer.ending() if stack.consumer else "",
            "output": stack.outputs()}


@check
def node_fulfils_once(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("node_flow")
    if result.get("skipped"):
        return skipped(result["skipped"])
    sent = [r["order_id"] for r in result["replies"]]
    effects = result["effects"]
    counts = Counter(e["order_id"] for e in effects)
    once = [o for o in sent if counts.get(o) == 1]
    never = [o for o in sent if o not in counts]
    twice = {o: n for o, n in counts.items() if n > 1}
    found = f"{len(once)} fulfilled once, {len(never)} never, {len(twice)} more than once"
    if not result["met_outage"] and result["consumer_alive"]:
        # The outage is what this step tests: without a call while downstream was down,
        # nothing here says whether the consumer keeps what downstream did not confirm.
        return failed("the Node.js consumer to meet downstream's outage (it calls "
                      "downstream for each order while it is down)", found + ": "
                      "node/consumer.mjs never called downstream in the "
                      f"{NODE_START_MOST} s the tutor kept it down — does it call "
                      "downstream for each message? (if it is just slow to start on a busy "
                      "machine, run the check again)",
                      consumer_output=result["output"].get("node/consumer.mjs", ""))
    if never:
        # Both can be true at once: a consumer that deletes first and then crashes (or is
        # crashed by a slow machine) has lost what it deleted either way.
        why = []
        if result["depth"] == 0:  # not in the queue, not in flight: deleted unconfirmed
            why.append("their messages are gone, so the consumer deleted messages that "
                       "downstream never confirmed (it was down at first)")
        if not result["consumer_alive"]:
            why.append(_node_crash(result.get("consumer_ending", "")))
        if why:
            found += ": " + "; ".join(why)
    if twice:
        found += _why_twice(effects, twice, result["retried"], "consumer")
    return partial(len(once) / len(sent), f"the Node.js consumer to fulfil all {len(sent)} "
                   "orders exactly once (downstream was down, then slow; a client posted "
                   "one order twice)", found,
                   consumer_alive=result["consumer_alive"],
                   consumer_output=result["output"].get("node/consumer.mjs", ""))


def _node_crash(ending: str) -> str:
    """Why node/consumer.mjs stopped, as far as its ending tells."""
    if ending in ("exited with code 0", "exited with code 13"):
        # 13: a top-level await that never settled. Both: the event loop ran empty.
        return (f"node/consumer.mjs stopped with messages still to do: it {ending}, "
                "which is Node.js finding nothing left to run. Does its receive loop end? "
                "Or does it wait on a promise that only AbortSignal.timeout() would "
                "settle? That timer does not keep Node.js alive, and a fetch whose "
                "connection downstream reset can be left waiting on it alone: bound fetch "
                "with an AbortController and a setTimeout that calls abort() (cleared "
                "afterwards)")
    return (f"node/consumer.mjs crashed ({f'it {ending}; ' if ending else ''}does it "
            "survive a failed fetch?)")


@check
def node_drains(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("node_flow")
    if result.get("skipped"):
        return skipped(result["skipped"])
    found = f"{result['depth']} messages left"
    if result["depth"] and not result["consumer_alive"]:
        found += ": " + _node_crash(result.get("consumer_ending", ""))
    return expect(result["depth"] == 0,
                  f"`{ctx.name('orders')}` empty: the Node.js consumer deletes what it "
                  "fulfilled", found,
                  consumer_output=result["output"].get("node/consumer.mjs", ""))
