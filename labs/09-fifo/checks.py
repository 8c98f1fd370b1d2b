"""Checks for lab 09: FIFO queues — message groups, deduplication, FIFO DLQs, throughput."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from tutor.engine.labs import faults
from tutor.engine.labs.builtins import redrive_outcome
from tutor.engine.labs.sqs_facts import json_attribute, receive_count, redrive_refusal
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
POISON_ORDER = 1  # its "paid" event (seq 2) is declined by the worker
POISON_SEQ = 2
BENCH_MESSAGES = 600  # per queue; the embedded LocalStack absorbs ~1,250 msg/s on 2 cores
BENCH_GROUPS = 10
# The tutor crashes producer.py right after this many sends, then runs it again (as a
# supervisor or a retrying job scheduler would): the restart sends the first events again.
PRODUCER_CRASH_AFTER = 10
# The tutor crashes worker.py right BEFORE its 2nd delete (the event is processed, the
# message is not deleted: SQS delivers it again) and right AFTER its 6th delete (an event
# deleted before it was processed is lost), and restarts it each time.
WORKER_CRASHES = (
    faults.kill("DeleteMessage", when="before", nth=[2], id="before-delete"),
    faults.kill("DeleteMessage", when="after", nth=[6], id="after-delete"),
    faults.kill("DeleteMessageBatch", when="before", nth=[1], id="before-delete-batch"),
    faults.kill("DeleteMessageBatch", when="after", nth=[2], id="after-delete-batch"),
)


# --- helpers -------------------------------------------------------------------------

def _require_queue(ctx: CheckContext, suffix: str) -> str:
    url = ctx.queue_url(suffix)
    if url is None:
        raise ScenarioFailed(f"the queue `{ctx.name(suffix)}` does not exist",
                             fix="create it in infra.py and run `python infra.py`")
    return url


def _depth(ctx: CheckContext, url: str) -> int:
    """Messages in a queue: visible, in flight and delayed."""
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible",
                                      "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return sum(int(attrs.get(k, 0)) for k in ("ApproximateNumberOfMessages",
                                               "ApproximateNumberOfMessagesNotVisible",
                                               "ApproximateNumberOfMessagesDelayed"))


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
            if not isinstance(body, dict):
                body = {"raw": message["Body"]}
            found.append({"event_id": body.get("event_id"), "order_id": body.get("order_id"),
                          "seq": body.get("seq"), "group": attrs.get("MessageGroupId"),
                          "dedup_id": attrs.get("MessageDeduplicationId"),
                          "content_hash": hashlib.sha256(message["Body"].encode()).hexdigest(),
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
            if isinstance(row, dict) and str(row.get("event_id", "")).startswith(run + "-"):
                rows.append(row)
    return rows


def _all_events(run: str) -> list[str]:
    return [f"{run}-o{n}-{seq}" for n in range(1, ORDERS + 1) for seq in range(1, STAGES + 1)]


def _send_order(run: str) -> list[str]:
    """The event id of each send producer.py makes, in order (its retries included)."""
    sends = []
    for seq in range(1, STAGES + 1):
        for n in range(1, ORDERS + 1):
            sends.append(f"{run}-o{n}-{seq}")
            if (n + seq) % 4 == 0:  # the producer's simulated timeout and retry
                sends.append(f"{run}-o{n}-{seq}")
    return sends


def _short(event_id: str, run: str) -> str:
    """`3f2a9c1d-o3-2` -> `o3-2` (what the learner sees in their own terms)."""
    return event_id.removeprefix(run + "-")


def _failure_line(output: str) -> str:
    """The last line of a traceback that names the error."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for line in reversed(lines):
        if "Error" in line or "Exception" in line:
            return line[:300]
    return lines[-1][:300] if lines else ""


# --- step 1: the FIFO queue -----------------------------------------------------------

@check
def orders_fifo(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders.fifo")
    if attrs is None:
        plain = ctx.queue_url("orders")
        found = (f"only a standard queue `{ctx.name('orders')}` (a FIFO queue's name ends "
                 "in `.fifo` and it needs FifoQueue=true when it is created)" if plain
                 else "no such queue")
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


# --- step 2: message groups and deduplication --------------------------------------------

def _producer_failed(program: Any) -> ScenarioFailed:
    output = program.output()
    line = _failure_line(output)
    if "MessageGroupId" in line:
        why = ("SQS refused a send without a MessageGroupId: every message to a FIFO queue "
               "needs one")
    elif "MessageDeduplicationId" in line:
        why = ("SQS refused a send without a MessageDeduplicationId (a FIFO queue needs one "
               "unless content-based deduplication is on)")
    elif "DelaySeconds" in line:
        why = "SQS refused a per-message DelaySeconds: FIFO queues only have a queue delay"
    else:
        why = line or f"it exited with code {program.returncode}"
    return ScenarioFailed(f"`producer.py` failed: {why}", output,
                          fix="run `python producer.py --run try1` yourself to see the error")


@scenario(timeout=60)
def produce(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx, "orders.fifo")
    ctx.client("sqs").purge_queue(QueueUrl=url)
    run = uuid.uuid4().hex[:8]
    args = ("producer.py", "--run", run, "--orders", str(ORDERS))
    ctx.runner.set_faults([
        faults.kill("SendMessage", nth=[PRODUCER_CRASH_AFTER], id="producer-crash"),
        faults.kill("SendMessageBatch", nth=[2], id="producer-crash-batch")])
    first = ctx.runner.run(*args, timeout=25, check=False)
    crashed = bool(first.faults("kill"))
    ctx.runner.set_faults([])
    if not crashed and first.returncode != 0:
        raise _producer_failed(first)
    programs = [first]
    if crashed:  # restarted from the beginning, as a supervisor would
        again = ctx.runner.run(*args, timeout=25, check=False)
        programs.append(again)
        if again.returncode != 0:
            raise _producer_failed(again)
    sends = sum(p.api_calls("sqs").get("SendMessage", 0) for p in programs)
    batches = sum(int(e.get("n", 0)) for p in programs for e in p.events("api")
                  if e.get("op") == "SendMessageBatch")
    # This run's events only (a message left by something else is not the producer's).
    messages = [m for m in _collect(ctx, url, timeout=12)
                if str(m["event_id"]).startswith(run + "-")]
    return {"run": run, "sends": sends + batches, "crashed": crashed,
            "messages": messages, "output": programs[-1].output(5)}


@check
def group_per_order(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("produce")
    run = result["run"]
    messages = [m for m in result["messages"] if m["order_id"]]
    if not messages:
        return failed("the producer's messages in the queue", "no message")
    by_order: dict[str, set[str]] = defaultdict(set)
    by_group: dict[str, set[str]] = defaultdict(set)
    for m in messages:
        by_order[str(m["order_id"])].add(str(m["group"]))
        by_group[str(m["group"])].add(str(m["order_id"]))
    own = [o for o, groups in by_order.items()
           if len(groups) == 1 and len(by_group[next(iter(groups))]) == 1]
    expected = ("one message group per order: every event of an order in the same group, "
                "and no two orders in one group")
    if len(own) == len(by_order):
        order, groups = next(iter(by_order.items()))
        return passed(expected, f"{len(by_order)} orders in {len(by_group)} groups "
                      f"(e.g. `{_short(order, run)}` -> group `{next(iter(groups))}`)",
                      groups=sorted(by_group)[:10])
    problems = []
    if len(by_group) == 1:
        problems.append(
            f"all {len(by_order)} orders in the one group `{next(iter(by_group))}`: SQS "
            "hands out a group's messages in order to one consumer at a time, so the whole "
            "shop waits in one line — give each order its own group so that different "
            "orders are processed in parallel")
    else:
        spread = {o: g for o, g in by_order.items() if len(g) > 1}
        shared = {g: o for g, o in by_group.items() if len(o) > 1}
        if spread:
            order, groups = next(iter(spread.items()))
            problems.append(
                f"{len(spread)} orders spread over several groups (order "
                f"`{_short(order, run)}` over {len(groups)}: {sorted(groups)[:4]}): SQS keeps "
                "order only within one group, so an order's events may be processed out of "
                "order — every event of an order needs the same MessageGroupId")
        if shared:
            group, orders = next(iter(shared.items()))
            problems.append(
                f"{len(shared)} groups shared by several orders (group `{group}` holds "
                f"{sorted(_short(o, run) for o in orders)}): orders in one group wait for "
                "each other — one group per order")
    return partial(len(own) / len(by_order), expected, "; ".join(problems),
                   groups={g: sorted(_short(o, run) for o in os_)[:6]
                           for g, os_ in list(by_group.items())[:10]})


@check
def deduplicated(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("produce")
    run = result["run"]
    messages = result["messages"]
    events = _all_events(run)
    counts = Counter(m["event_id"] for m in messages)
    missing = [e for e in events if e not in counts]
    crash = (f"the tutor crashed producer.py right after its {PRODUCER_CRASH_AFTER}th send "
             "and ran it again" if result["crashed"] else "")
    evidence = {"sends": result["sends"], "crashed_and_rerun": result["crashed"],
                "dedup_ids": {_short(str(m["event_id"]), run): m["dedup_id"]
                              for m in messages[:4]}}
    if missing:
        example = next((m for m in messages if m["dedup_id"] != m["content_hash"]), None)
        why = (f" (for `{_short(str(example['event_id']), run)}` it was "
               f"`{example['dedup_id']}`)" if example else "")
        return partial(1 - len(missing) / len(events),
                       f"each of the {len(events)} events in the queue once",
                       f"{len(missing)} of {len(events)} events never arrived (e.g. "
                       f"{[_short(e, run) for e in missing[:3]]}): SQS drops a message whose "
                       "MessageDeduplicationId it has seen in the last 5 minutes, so a "
                       "deduplication id shared by different events loses all but the "
                       f"first{why} — it must name one event, the same in every attempt",
                       missing=[_short(e, run) for e in missing[:8]], **evidence)
    dups = {e: n for e, n in counts.items() if n > 1}
    expected = (f"each of the {len(events)} events in the queue exactly once although the "
                f"producer made {result['sends']} sends (its retries"
                + (" and the restart after the tutor's crash" if result["crashed"] else "")
                + " deduplicated)")
    if not dups:
        return passed(expected, f"{len(messages)} messages, each event once", **evidence)
    sends = _send_order(run)
    retried = {e for e, n in Counter(sends).items() if n > 1}
    # What the first run sent before the crash: at most the first events, retries or not.
    resent = set(list(dict.fromkeys(sends))[:PRODUCER_CRASH_AFTER]) if result["crashed"] \
        else set()
    copies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in messages:
        if m["event_id"] in dups:
            copies[str(m["event_id"])].append(m)
    event, twice = next(iter(copies.items()))
    ids = [c["dedup_id"] for c in twice]
    if set(dups) <= resent and not set(dups) & (retried - resent):
        why = (f"{crash}: {len(dups)} events it had sent before the crash arrived twice "
               f"(e.g. `{_short(event, run)}`), although the retries within one run were "
               "dropped — your producer recognises a retry itself, in memory, and a "
               "restarted process has forgotten it. Let SQS recognise it: a "
               "MessageDeduplicationId taken from the event is the same in every attempt "
               "and every process")
    elif all(c["dedup_id"] == c["content_hash"] for c in twice):
        why = (f"{len(dups)} events arrived more than once (e.g. `{_short(event, run)}`): "
               "content-based deduplication hashes the body, and a retry carries a new "
               "`sent_at`, so its body differs from the first attempt's — give every "
               "message a MessageDeduplicationId taken from the event itself")
    else:
        why = (f"{len(dups)} events arrived more than once (e.g. `{_short(event, run)}` "
               f"with deduplication ids {ids[:2]}): your MessageDeduplicationId changes "
               "between the first attempt and the retry — take it from something that is "
               "identical in both (the event, not the send)")
    if crash and crash not in why:
        why += f" ({crash})"
    return failed(expected, why, duplicated={_short(e, run): n for e, n in dups.items()},
                  **evidence)


@check
def order_within_groups(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("produce")
    run = result["run"]
    per_order: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for m in result["messages"]:
        if not m["order_id"] or m["event_id"] in seen:
            continue  # duplicates are the deduplication check's business
        seen.add(m["event_id"])
        per_order[str(m["order_id"])].append(int(m["seq"] or 0))
    if not per_order:
        return failed("the producer's messages in the queue", "no message")
    good = [o for o, seqs in per_order.items() if seqs == sorted(seqs)]
    bad = {_short(o, run): s for o, s in per_order.items() if s != sorted(s)}
    found = f"{len(good)} of {len(per_order)} orders delivered in order"
    if bad:
        order, seqs = next(iter(bad.items()))
        found += (f"; order `{order}` arrived as steps {seqs}: its events are not in one "
                  "message group, or were not sent one after the other")
    return partial(len(good) / len(per_order),
                   "each order's events delivered in the order they were sent", found,
                   out_of_order=bad)


# --- step 3: the FIFO dead-letter queue ------------------------------------------------------

@check
def dlq_is_fifo(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders-dlq.fifo")
    if attrs is None:
        standard = ctx.queue_url("orders-dlq")
        return failed(f"a FIFO dead-letter queue `{ctx.name('orders-dlq.fifo')}`",
                      f"only a standard queue `{ctx.name('orders-dlq')}`: the DLQ of a FIFO "
                      "queue must be a FIFO queue too (AWS refuses anything else), so that "
                      "the parked events keep their group and their order" if standard
                      else "no such queue")
    return expect(attrs.get("FifoQueue") == "true", "FifoQueue=true on the DLQ",
                  f"FifoQueue={attrs.get('FifoQueue')}")


@check
def redrive_policy(ctx: CheckContext) -> Outcome:
    count = int(ctx.params.get("max_receive_count", 3))
    outcome = redrive_outcome(
        ctx, "orders.fifo", "orders-dlq.fifo", count, count,
        high_means="the declined payment blocks its order group for maxReceiveCount x the "
                   "visibility timeout")
    refused = redrive_refusal(ctx, "orders-dlq.fifo", "orders.fifo")
    if not refused:
        return outcome
    return partial(min(outcome.fraction, 2 / 3), outcome.expected + ", which the DLQ "
                   "admits as a source", f"{outcome.found}; {refused}", **outcome.evidence)


# --- step 4: a failing message blocks its group, not the others --------------------------

def _send_orders(ctx: CheckContext, url: str, run: str) -> None:
    """The events of ORDERS orders, as producer.py sends them (interleaved across orders,
    one group per order, the event id as deduplication id), order POISON_ORDER's payment
    declined. The tutor sends them itself: step 4 judges the worker, not the producer."""
    events = [{"event_id": f"{run}-o{n}-{seq}", "order_id": f"{run}-o{n}", "seq": seq,
               "type": stage, "poison": n == POISON_ORDER and seq == POISON_SEQ}
              for seq, stage in enumerate(("created", "paid", "packed", "shipped"), start=1)
              for n in range(1, ORDERS + 1)]
    sqs = ctx.client("sqs")
    for first in range(0, len(events), 10):
        batch = events[first:first + 10]
        response = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": json.dumps({**e, "sent_at": time.time()}),
             "MessageGroupId": e["order_id"], "MessageDeduplicationId": e["event_id"]}
            for i, e in enumerate(batch)])
        if response.get("Failed"):
            raise ScenarioFailed(f"the tutor could not send the orders' events to "
                                 f"`{ctx.name('orders.fifo')}`: {response['Failed'][0]}")


def _redrive_settings(ctx: CheckContext) -> tuple[int, float]:
    """(maxReceiveCount, visibility timeout) of the orders queue, bounded."""
    attrs = ctx.queue_attributes("orders.fifo") or {}
    policy, _ = json_attribute(attrs.get("RedrivePolicy"))
    receives = receive_count((policy or {}).get("maxReceiveCount")) or 3
    visibility = float(attrs.get("VisibilityTimeout", ctx.clock.seconds("visibility_timeout")))
    return max(1, min(receives, 10)), max(1.0, min(visibility, 30.0))


@scenario(timeout=60)
def poison_run(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx, "orders.fifo")
    dlq = _require_queue(ctx, "orders-dlq.fifo")
    sqs = ctx.client("sqs")
    sqs.purge_queue(QueueUrl=url)
    sqs.purge_queue(QueueUrl=dlq)
    (ctx.workspace / "processed.jsonl").unlink(missing_ok=True)
    run = uuid.uuid4().hex[:8]
    _send_orders(ctx, url, run)
    healthy = {e for e in _all_events(run) if f"-o{POISON_ORDER}-" not in e}
    receives, vt = _redrive_settings(ctx)
    ctx.runner.set_faults(list(WORKER_CRASHES))
    start = time.time()
    worker = ctx.runner.start("worker.py", restarts=len(WORKER_CRASHES))
    # How long this machine takes to start the worker (Python, boto3): every crash costs
    # one more start, and a visibility timeout for the messages the crashed worker held.
    startup = ctx.wait_started([worker])
    wait = ctx.budget((receives + 1) * (vt + 0.5) + 2 * (vt + startup) + 8,
                      f"maxReceiveCount {receives} x visibility timeout {vt:g} s, plus the "
                      f"two crashes the tutor causes and {startup:.1f} s to start worker.py")
    marks: dict[str, float] = {}

    # The payment is received before the other orders are done: once they are, its
    # retries end within maxReceiveCount visibility timeouts. Whatever is still in the
    # queue after that never leaves (a failed event sent back as a new message, say).
    stall = (receives + 1) * (vt + 0.5) + startup

    def settled() -> bool:
        if "dlq" not in marks and _depth(ctx, dlq) > 0:
            marks["dlq"] = time.time()
        done = {r["event_id"] for r in _processed(ctx, run)}
        if "healthy" not in marks and healthy <= done:
            marks["healthy"] = time.time()
        if _depth(ctx, url) != 0:
            marks.pop("empty", None)
            return "healthy" in marks and time.time() - marks["healthy"] > stall
        # The orders queue is empty, nothing in flight: every event was processed, moved
        # to the DLQ or deleted for good; nothing more can happen. Look twice, half a
        # second apart (a worker may still be writing the row of its last event).
        marks.setdefault("empty", time.time())
        return time.time() - marks["empty"] >= 0.5

    finished = ctx.runner.wait_until(settled, timeout=wait, interval=0.25)
    ran = time.time() - start
    alive = not worker.finished  # up, or being started again after a crash
    fired = [{"id": f.get("id"), "op": f.get("op"), "when": f.get("when"),
              "t": round(float(f.get("t", 0)) - start, 2)} for f in ctx.runner.fired("kill")]
    calls = dict(worker.api_calls("sqs"))
    worker.stop()
    dlq_counts = ctx.message_counts(dlq)
    dead = _collect(ctx, dlq, timeout=5, delete=False)
    return {"run": run, "start": start, "finished": finished, "worker_alive": alive,
            "waited": round(ran, 1), "dlq_at": marks.get("dlq"),
            "healthy_at": marks.get("healthy"), "crashes": fired, "calls": calls,
            "restarts": worker.restarts, "visibility": vt, "receives": receives,
            "startup": round(startup, 2),
            "processed": _processed(ctx, run),
            "dlq": [m for m in dead if m["event_id"] and m["event_id"].startswith(run)],
            "orders_left": _depth(ctx, url), "dlq_counts": dlq_counts,
            "dlq_all": [_short(str(m["event_id"]), run) for m in dead],
            "output": worker.output(10)}


def _poison_id(run: str) -> str:
    return f"{run}-o{POISON_ORDER}-{POISON_SEQ}"


def _crash_words(result: dict[str, Any], when: str) -> str:
    """How the tutor crashed the worker, e.g. "right before its 2nd DeleteMessage"."""
    crash = next((c for c in result["crashes"] if c["when"] == when), None)
    fault = next((f for f in WORKER_CRASHES if crash and f.id == crash["id"]), None)
    if fault is None:
        return ""
    return f"the tutor {fault.describe().replace('the program', 'worker.py')}"


@check
def poison_in_dlq(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("poison_run")
    run = result["run"]
    ids = [_short(m["event_id"], run) for m in result["dlq"]]
    poison = _short(_poison_id(run), run)
    expected = (f"the declined event `{poison}` in `{ctx.name('orders-dlq.fifo')}` after "
                f"maxReceiveCount ({result['receives']}) receives")
    if poison not in ids:
        if result["calls"].get("SendMessage"):
            why = ("your worker sent messages to the queue itself: a declined payment sent "
                   "back is a NEW message, its receive count starts again at 0, so it never "
                   "reaches the DLQ — and the order's later events overtake it. Leave the "
                   "failed message alone (do not delete it) and SQS delivers it again")
        elif result["orders_left"] == 0:
            why = ("the declined payment was deleted: your worker deletes a message whose "
                   "processing failed (the failure is swallowed), so the payment is lost "
                   "instead of being retried and parked in the DLQ")
        else:
            why = (f"it was still in `{ctx.name('orders.fifo')}` when the tutor stopped "
                   f"after {result['waited']:g} s")
        return failed(expected, f"the DLQ holds {ids or 'nothing'}: {why}",
                      worker_output=result["output"])
    order = f"{run}-o{POISON_ORDER}"
    strangers = [_short(m["event_id"], run) for m in result["dlq"] if m["order_id"] != order]
    seqs = [int(m["seq"]) for m in result["dlq"] if m["order_id"] == order]
    expected = (f"only order o{POISON_ORDER}'s events in the DLQ (the declined payment, "
                "perhaps with the events behind it), in order")
    if strangers:
        return failed(expected, f"the DLQ holds {ids}: events of other orders were moved "
                      "there with the declined payment — your worker left them unprocessed "
                      "in the failed message's batch until they ran out of receives",
                      dlq=ids)
    return expect(seqs == sorted(seqs), expected, f"the DLQ holds {ids}", dlq=ids)


@check
def group_order_kept(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("poison_run")
    run = result["run"]
    # The move to the DLQ happens inside a ReceiveMessage that may return the order's next
    # events at once, and the scenario notices it by polling: allow half a visibility
    # timeout. A jump while the payment is still retried is at least one timeout early.
    slack = result["visibility"] / 2
    poison_at = (result["dlq_at"] or float("inf")) - slack
    rows = result["processed"]
    if not rows:
        return failed("the worker to process events (processed.jsonl)", "nothing processed",
                      worker_output=result["output"])
    per_order: dict[str, list[int]] = defaultdict(list)
    jumped = []
    for row in rows:
        per_order[_short(str(row["order_id"]), run)].append(int(row["seq"]))
        if str(row["order_id"]).endswith(f"-o{POISON_ORDER}") \
                and int(row["seq"]) > POISON_SEQ and float(row["t"]) < poison_at:
            jumped.append(_short(str(row["event_id"]), run))
    jumped = list(dict.fromkeys(jumped))
    disordered = {o: s for o, s in per_order.items() if s != sorted(s)}
    if jumped:
        return failed(f"no event of order o{POISON_ORDER} after its declined payment to be "
                      "processed while the payment was still being retried",
                      f"{jumped} processed before the payment left the queue (the order "
                      "was shipped without being paid): your worker goes on with a batch "
                      "after a failure and processes the same group's later events — skip "
                      "every later message of a group whose message failed",
                      processed=rows[:30])
    return expect(not disordered, "every order's events processed in sequence",
                  f"out of order: {disordered} (does your worker process a batch in "
                  "parallel, or send failed events back to the queue?)" if disordered else
                  f"{len(per_order)} orders each processed in sequence",
                  per_order=dict(per_order))


@check
def other_groups_flow(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("poison_run")
    run = result["run"]
    healthy = [e for e in _all_events(run) if f"-o{POISON_ORDER}-" not in e]
    done = {r["event_id"] for r in result["processed"]}
    got = sum(1 for e in healthy if e in done)
    expected = (f"all {len(healthy)} events of the other orders processed while order "
                f"o{POISON_ORDER}'s payment was retried")
    blocked = ("your worker stops at a failure and leaves the rest of the batch — other "
               "orders' events — waiting with it; skip only the failed message's own group")
    parked = [_short(m["event_id"], run) for m in result["dlq"] if m["event_id"] in healthy]
    if parked:
        return partial(got / len(healthy), expected,
                       f"{len(parked)} of them moved to the DLQ with the declined payment "
                       f"(e.g. `{parked[0]}`): received in its batch every time and never "
                       f"processed — {blocked}", worker_output=result["output"])
    if got < len(healthy):
        return partial(got / len(healthy), expected,
                       f"{got} processed after {result['waited']:g} s",
                       worker_output=result["output"])
    took = result["healthy_at"] - result["start"]
    poison = (result["dlq_at"] - result["start"]) if result["dlq_at"] else None
    # Without blocking, the other orders are done once the messages a crashed worker held
    # are back (a visibility timeout) and the worker is up again; waiting longer, until
    # the payment left, is waiting for it.
    last_crash = max([float(c["t"]) for c in result["crashes"]] + [0.0])
    free = last_crash + result["startup"] + result["visibility"] + 3
    found = f"the other orders done after {took:.1f} s" + (
        f", the declined payment in the DLQ after {poison:.1f} s" if poison is not None else "")
    if poison is not None and took > free and took >= poison - result["visibility"] / 2:
        return failed(expected, f"{found}: they waited for the declined payment — {blocked}",
                      healthy_seconds=round(took, 2), poison_seconds=round(poison, 2))
    return passed(expected, found, healthy_seconds=round(took, 2))


@check
def nothing_lost(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("poison_run")
    run = result["run"]
    events = _all_events(run)
    processed = Counter(r["event_id"] for r in result["processed"])
    dead = {m["event_id"] for m in result["dlq"]}
    missing = [_short(e, run) for e in events if e not in processed and e not in dead]
    twice = [_short(e, run) for e, n in processed.items() if n > 1]
    both = [_short(e, run) for e in events if e in processed and e in dead]
    expected = f"each of the {len(events)} events processed once or parked in the DLQ"
    evidence = {"crashes": result["crashes"], "orders_left": result["orders_left"],
                "dlq_counts": result["dlq_counts"], "in_dlq": result["dlq_all"]}
    if not (missing or twice or both):
        return passed(expected, f"{sum(processed.values())} processed once, {len(dead)} in "
                      f"the DLQ, through {result['restarts']} crashes of worker.py",
                      timeline=[(_short(r["event_id"], run), round(r["t"] - result["start"], 2))
                                for r in result["processed"]], **evidence)
    problems = []
    # Still in the orders queue when the wait ran out: unfinished, not (yet) lost.
    pending = missing if result["orders_left"] else []
    lost = [e for e in missing if e not in pending]
    if pending:
        problems.append(
            f"{len(pending)} event{'s' if len(pending) > 1 else ''} unfinished (e.g. "
            f"`{pending[0]}`): "
            f"{result['orders_left']} messages were still in `{ctx.name('orders.fifo')}` "
            f"when the tutor stopped after {result['waited']:g} s")
    if twice:
        crash = _crash_words(result, "before")
        problems.append(
            f"{len(twice)} processed twice (e.g. `{twice[0]}`)" + (
                f": {crash}, after it had processed an event but before it deleted it, "
                "and started it again; SQS delivered that message again after the "
                f"{result['visibility']:g} s visibility timeout and your worker processed it "
                "again — look up processed.jsonl and skip (and delete) events already "
                "processed" if crash else ""))
    poison = _short(_poison_id(run), run)
    if poison in lost:
        problems.append(f"the declined payment `{poison}` lost (neither processed nor in the "
                        "DLQ): your worker deleted it although processing failed")
    others = [e for e in lost if e != poison]
    if others:
        crash = _crash_words(result, "after")
        problems.append(
            f"{len(others)} lost (e.g. `{others[0]}`: neither processed nor in the DLQ)" + (
                f": {crash}, and started it again; your worker deletes a message before "
                "it has processed it, so the crash lost it — delete only after process() "
                "succeeded" if crash else ""))
    if both:
        problems.append(f"{len(both)} processed AND moved to the DLQ (e.g. `{both[0]}`): "
                        "your worker skips an event it already processed without deleting "
                        "it, so SQS kept delivering it")
    bad = len(missing) + len(twice) + len(both)
    return partial((len(events) - bad) / len(events), expected, "; ".join(problems),
                   lost=lost[:5], twice=twice[:5], **evidence)


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
    return partial(right / len(want), ", ".join(f"{k}={v}" for k, v in want.items())
                   + " (high throughput mode: deduplication and the throughput limit per "
                   "message group)", ", ".join(f"{k}={v}" for k, v in found.items()))


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
