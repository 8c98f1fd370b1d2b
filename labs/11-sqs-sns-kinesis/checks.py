"""Checks for lab 11: the same order events through SQS, SNS and Kinesis, compared."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import sqlite3
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from tutor.engine.labs import faults
from tutor.engine.labs.checks import (
    PROGRESS_GRACE,
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
from tutor.engine.policy import PolicyError, audit, source_probes

STAGES = ("created", "paid", "shipped")
SQS_ORDERS = 12  # 36 events through the queue and the topic
KINESIS_ORDERS = 10  # 30 events the producer puts into the stream, one PutRecord each
CONSUMER_ORDERS = 16  # 48 records the tutor puts before it runs the Kinesis consumers
SUBSCRIBERS = ("billing", "shipping")
CONSUMERS = ("analytics", "billing")
THROTTLED = "ProvisionedThroughputExceededException"

# Step 1: the tutor crashes one SQS worker right after a receive (it held messages it never
# handled: they must come back) and one right after a delete (a worker that deletes before
# it handles loses that event); the supervisor starts each again.
SQS_FAULTS = (
    faults.kill("ReceiveMessage", when="after", nonempty=True, nth=[1], id="after-receive"),
    faults.kill("DeleteMessage", when="after", nth=[3], id="after-delete"),
    faults.kill("DeleteMessageBatch", when="after", nth=[1], id="after-delete-batch"),
)
# Step 3: Kinesis refuses one put, as a shard over its write limit does.
PRODUCER_FAULTS = (
    faults.api_error("kinesis", "PutRecord", nth=[5], code=THROTTLED, status=400,
                     message="Rate exceeded for shard", id="throttle-put"),
    faults.api_error("kinesis", "PutRecords", nth=[1], code=THROTTLED, status=400,
                     message="Rate exceeded for shard", id="throttle-puts"),
)
# Step 4: billing is crashed twice, at the two moments a checkpoint can be wrong: right
# before a commit (its batch was read and handled, nothing saved: a checkpoint written
# earlier, or elsewhere, already covers records whose rows are lost) and right after one
# (the rows are saved: a checkpoint written later, or in a transaction of its own, is not).
# Either crash also finds out a restart that does not resume from its own checkpoint.
CONSUMER_FAULTS = (
    faults.kill("commit", when="before", nth=[2], id="before-commit"),
    faults.kill("commit", when="after", nth=[4], id="after-commit"),
)
CRASH_WORDS = {
    "before-commit": "right before an SQLite commit",
    "after-commit": "right after an SQLite commit",
    "after-receive": "right after a ReceiveMessage, before it handled the messages",
    "after-delete": "right after its 3rd DeleteMessage",
    "after-delete-batch": "right after its first DeleteMessageBatch",
}


# --- helpers ---------------------------------------------------------------------------

def _events(run: str, orders: int) -> list[dict[str, Any]]:
    """The events producer.py sends, in its order: created, paid, shipped across orders."""
    return [{"event_id": f"{run}-o{n}-{seq}", "order_id": f"{run}-o{n}", "seq": seq,
             "type": stage, "amount_cents": 1000 + 25 * n}
            for seq, stage in enumerate(STAGES, start=1) for n in range(1, orders + 1)]


def _n(count: int, word: str) -> str:
    """`_n(1, "event")` -> "1 event was", `_n(3, "event")` -> "3 events were"."""
    return f"{count} {word} was" if count == 1 else f"{count} {word}s were"


def _short(name: Any, run: str) -> str:
    """`3f2a9c1d-o3-2` -> `o3-2` (what the learner sees in their own terms)."""
    return str(name).removeprefix(run + "-")


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _failure_line(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for line in reversed(lines):
        if "Error" in line or "Exception" in line:
            return line[:300]
    return lines[-1][:300] if lines else ""


def _fired(ctx: CheckContext) -> list[dict[str, Any]]:
    return [{"id": f.get("id"), "pid": f.get("pid"), "t": f.get("t")}
            for f in ctx.runner.fired()]


# --- step 1: SQS, one consumer group ---------------------------------------------------------

@check
def standard_queue(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders")
    want = int(ctx.clock.seconds("visibility_timeout"))
    expected = (f"a standard queue `{ctx.name('orders')}` with VisibilityTimeout={want} "
                f"({ctx.clock.explain('visibility_timeout')})")
    if attrs is None:
        fifo = ctx.queue_url("orders.fifo")
        return failed(expected, f"only `{ctx.name('orders.fifo')}`, a FIFO queue: this step "
                      "compares a standard queue with the stream" if fifo else "no such queue")
    value = attrs.get("VisibilityTimeout", "absent")
    return expect(value == str(want), expected, f"VisibilityTimeout={value}",
                  attributes={k: attrs.get(k) for k in ("VisibilityTimeout",
                                                        "MessageRetentionPeriod")})


def _visibility(ctx: CheckContext) -> float:
    attrs = ctx.queue_attributes("orders") or {}
    try:
        value = float(attrs.get("VisibilityTimeout", ctx.clock.seconds("visibility_timeout")))
    except ValueError:
        value = ctx.clock.seconds("visibility_timeout")
    return max(1.0, min(value, 30.0))


def _ledger(ctx: CheckContext, run: str) -> list[dict[str, Any]]:
    """sqs-handled.jsonl lines of this run, in the order they were written."""
    path: Path = ctx.workspace / "sqs-handled.jsonl"
    rows = []
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            row = _json(line)
            if str(row.get("event_id", "")).startswith(run + "-"):
                rows.append(row)
    return rows


def _read_queue(ctx: CheckContext, url: str, run: str, *, delete: bool,
                timeout: float = 8.0) -> list[dict[str, Any]]:
    """Every message of `url` about this run (unwrapping SNS envelopes), until a receive
    comes back empty. `delete`: remove what was read (the tutor owns the queue now)."""
    sqs = ctx.client("sqs")
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=30, WaitTimeSeconds=0
                                       ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            body = _json(message["Body"])
            enveloped = body.get("Type") == "Notification" and "Message" in body
            event = _json(body["Message"]) if enveloped else body
            if str(event.get("event_id", "")).startswith(run + "-"):
                found.append({"event_id": event["event_id"], "raw": not enveloped})
        if delete:
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)])
    return found


@scenario(timeout=60)
def sqs_run(ctx: CheckContext) -> dict[str, Any]:
    if ctx.queue_url("orders") is None and ctx.queue_url("orders.fifo") is not None:
        raise ScenarioFailed(f"there is only `{ctx.name('orders.fifo')}`, a FIFO queue: this "
                             "step compares a standard queue (best-effort order, nearly "
                             "unlimited throughput) with the stream",
                             fix=f"create the standard queue `{ctx.name('orders')}` in "
                                 "sqs_infra.py and run `python sqs_infra.py`")
    url = ctx.require_queue_url("orders", fix="create it in sqs_infra.py and run "
                                              "`python sqs_infra.py`")
    ctx.clear(url)
    (ctx.workspace / "sqs-handled.jsonl").unlink(missing_ok=True)
    run = uuid.uuid4().hex[:8]
    ctx.runner.set_faults([])
    producer = ctx.runner.run("producer.py", "--to", "sqs", "--run", run, "--orders",
                              str(SQS_ORDERS), timeout=40, check=False)
    if producer.returncode != 0:
        raise ScenarioFailed("`producer.py --to sqs` failed: "
                             f"{_failure_line(producer.output())}", producer.output(),
                             fix="run `python producer.py --to sqs` yourself to see why")
    visibility = _visibility(ctx)
    expected = {e["event_id"] for e in _events(run, SQS_ORDERS)}
    ctx.runner.set_faults(list(SQS_FAULTS))
    start = time.time()
    workers = [ctx.runner.start("sqs_worker.py", restarts=2) for _ in range(2)]
    startup = ctx.wait_started(workers)
    wait = ctx.budget(2 * visibility + 3 * startup + 10,
                      f"the visibility timeout ({visibility:g} s: a crashed worker's messages "
                      f"come back after it) twice, plus {startup:.1f} s to start "
                      "sqs_worker.py after each crash")

    def settled() -> bool:
        visible, in_flight = ctx.message_counts(url)
        if visible + in_flight == 0:
            return True  # nothing left that SQS could still deliver
        counts = Counter(r["event_id"] for r in _ledger(ctx, run))
        # Every event handled and some twice while messages stay: the worker never
        # deletes. Certain already, no need to wait for the rest.
        return expected <= set(counts) and any(n > 1 for n in counts.values())

    ctx.wait_progressing(settled, wait, lambda: len(_ledger(ctx, run)),
                         what="the workers' handling", interval=0.3, programs=workers)
    took = time.time() - start
    wait_attr = (ctx.queue_attributes("orders") or {}).get("ReceiveMessageWaitTimeSeconds", "0")
    ctx.runner.stop_and_outlive_polls(workers, float(wait_attr or 0))
    calls: Counter[str] = Counter()
    for worker in workers:
        calls.update(worker.api_calls("sqs"))
    visible, in_flight = ctx.message_counts(url)
    # What a "replay" of the queue finds now: the tutor reads what is left.
    left = _read_queue(ctx, url, run, delete=True, timeout=6)
    return {"run": run, "handled": _ledger(ctx, run), "left": [m["event_id"] for m in left],
            "depth": visible + in_flight, "fired": _fired(ctx), "waited": round(took, 1),
            "restarts": [w.restarts for w in workers], "calls": dict(calls),
            "visibility": visibility, "output": workers[0].output(8)}


def _crashes(result: dict[str, Any]) -> str:
    ids = [f["id"] for f in result["fired"]]
    words = [CRASH_WORDS.get(i, i) for i in ids]
    return "; ".join(dict.fromkeys(words))


@check
def each_event_once(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("sqs_run")
    run = result["run"]
    expected = [e["event_id"] for e in _events(run, SQS_ORDERS)]
    counts = Counter(r["event_id"] for r in result["handled"])
    lost = [e for e in expected if e not in counts]
    twice = [e for e in expected if counts.get(e, 0) > 1]
    crashed = _crashes(result)
    goal = (f"each of the {len(expected)} events handled once by the group of two "
            "sqs_worker.py (each message goes to one worker), through the tutor's crashes")
    evidence = {"crashes": result["fired"], "calls": result["calls"],
                "handled": len(result["handled"])}
    problems = []
    if lost:
        pending = [e for e in lost if e in result["left"]]
        gone = [e for e in lost if e not in pending]
        if gone:
            deleted = result["calls"].get("DeleteMessage", 0) + \
                result["calls"].get("DeleteMessageBatch", 0)
            why = (f"the tutor crashed a worker ({crashed}) and {_n(len(gone), 'event')} "
                   "deleted but never handled: your worker deletes a message before it "
                   "handles it — delete only after handle() returned" if deleted else
                   f"{len(gone)} events vanished without being handled")
            problems.append(f"{why} (e.g. `{_short(gone[0], run)}`)")
        if pending:
            problems.append(f"{len(pending)} events still waiting in the queue when the tutor "
                            f"stopped after {result['waited']:g} s{ctx.budget_note()}")
    if twice:
        deletes = result["calls"].get("DeleteMessage", 0) + \
            result["calls"].get("DeleteMessageBatch", 0)
        why = ("your worker never deletes a message" if not deletes else
               "your worker does not delete every message it handled")
        problems.append(
            f"{len(twice)} events handled more than once (e.g. `{_short(twice[0], run)}` "
            f"{counts[twice[0]]} times): {why}, so SQS delivered it again after the "
            f"{result['visibility']:g} s visibility timeout — to whichever worker of the group "
            "asked")
    if problems:
        bad = len(set(lost) | set(twice))
        return partial(max(0.0, 1 - bad / len(expected)), goal, "; ".join(problems),
                       lost=[_short(e, run) for e in lost[:8]],
                       twice=[_short(e, run) for e in twice[:8]], **evidence)
    per_worker = Counter(str(r.get("pid")) for r in result["handled"])
    disorder = _out_of_order(result["handled"], run)
    order_note = (f"; {len(disorder)} orders were handled out of sequence (e.g. "
                  f"`{next(iter(disorder))}` as steps {next(iter(disorder.values()))}): a "
                  "standard queue with competing consumers keeps no order" if disorder else
                  "; every order happened to be handled in sequence here, which a standard "
                  "queue does not promise")
    return passed(goal, f"{len(expected)} events, each handled once, shared by "
                  f"{len(per_worker)} worker processes ({sorted(per_worker.values())}), "
                  f"through the crashes ({crashed or 'none fired'}){order_note}",
                  out_of_order=disorder, **evidence)


def _out_of_order(rows: list[dict[str, Any]], run: str) -> dict[str, list[int]]:
    per_order: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        per_order[_short(row.get("order_id"), run)].append(int(row.get("seq") or 0))
    return {o: s for o, s in per_order.items() if s != sorted(s)}


@check
def nothing_to_replay(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("sqs_run")
    run = result["run"]
    total = SQS_ORDERS * len(STAGES)
    left = result["left"]
    goal = (f"none of the {total} events left in `{ctx.name('orders')}` once they were "
            "handled (a handled message is deleted: SQS has nothing to replay)")
    if not left and result["depth"] == 0:
        return passed(goal, f"0 of {total} left: SQS deleted each message when its worker "
                      "deleted it — nothing can be read again (the Kinesis steps keep and "
                      "replay the same events)")
    example = f" (e.g. `{_short(left[0], run)}`)" if left else ""
    return failed(goal, f"{len(left) or result['depth']} messages still in the queue"
                  f"{example}: your worker does not delete what it handled, so SQS keeps "
                  "each message until it is deleted or its retention period (4 days by "
                  "default) ends — and delivers it again and again", left=len(left))


# --- step 2: SNS fan-out to two queues ---------------------------------------------------------

def _topic_arn(ctx: CheckContext) -> str:
    return f"arn:aws:sns:{ctx.endpoint.region}:{ctx.endpoint.account}:{ctx.name('orders')}"


def _topic_exists(ctx: CheckContext) -> bool:
    sns = ctx.client("sns")
    try:
        sns.get_topic_attributes(TopicArn=_topic_arn(ctx))
    except sns.exceptions.NotFoundException:
        return False
    return True


def _subscriptions(ctx: CheckContext) -> dict[str, list[dict[str, str]]]:
    """Queue name -> the attributes of each SQS subscription of the topic to it."""
    sns = ctx.client("sns")
    found: dict[str, list[dict[str, str]]] = defaultdict(list)
    token = None
    for _ in range(20):
        kwargs = {"TopicArn": _topic_arn(ctx)} | ({"NextToken": token} if token else {})
        page = sns.list_subscriptions_by_topic(**kwargs)
        for sub in page.get("Subscriptions", []):
            if sub.get("Protocol") != "sqs" or ":" not in sub.get("SubscriptionArn", ""):
                continue
            attrs = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])
            found[sub["Endpoint"].rsplit(":", 1)[-1]].append(attrs.get("Attributes", {}))
        token = page.get("NextToken")
        if not token:
            break
    return found


@check
def topic_subscriptions(ctx: CheckContext) -> Outcome:
    goal = (f"the topic `{ctx.name('orders')}` with one SQS subscription for each of "
            f"`{ctx.name('billing')}` and `{ctx.name('shipping')}`, RawMessageDelivery=true")
    if not _topic_exists(ctx):
        return failed(goal, "no such topic")
    subs = _subscriptions(ctx)
    score = 0.0
    found = []
    for consumer in SUBSCRIBERS:
        queue = ctx.name(consumer)
        mine = subs.get(queue, [])
        if not mine:
            found.append(f"`{queue}`: not subscribed")
            continue
        raw = mine[0].get("RawMessageDelivery", "false")
        score += 0.5 + (0.5 if raw == "true" else 0.0)
        found.append(f"`{queue}`: RawMessageDelivery={raw}" + (
            f" ({len(mine)} subscriptions)" if len(mine) > 1 else ""))
    return partial(score / len(SUBSCRIBERS), goal, "; ".join(found),
                   subscriptions={q: len(s) for q, s in subs.items()})


@check
def topic_only_policies(ctx: CheckContext) -> Outcome:
    topic = _topic_arn(ctx)
    findings: dict[str, str] = {}
    audits: dict[str, Any] = {}
    right = 0
    for consumer in SUBSCRIBERS:
        queue = ctx.name(consumer)
        if ctx.queue_url(consumer) is None:
            findings[queue] = "no such queue"
            continue
        try:
            policy = ctx.queue_policy(consumer)
        except PolicyError as exc:
            findings[queue] = f"a policy IAM cannot read: {exc}"
            continue
        if not policy.statements:
            findings[queue] = ("no queue policy (on AWS, SNS could not deliver to it; "
                               "LocalStack does not enforce queue policies)")
            continue
        allow, deny = source_probes(ctx.queue_arn(consumer), "sqs:SendMessage",
                                    "sns.amazonaws.com", topic, ctx.endpoint.account)
        report = audit([policy], allow, deny)
        right += report.ok
        findings[queue] = "ok" if report.ok else report.summary()
        audits[queue] = report.to_evidence()
    wrong = {q: f for q, f in findings.items() if f != "ok"}
    return partial(right / len(SUBSCRIBERS),
                   "each queue's policy to allow sqs:SendMessage to sns.amazonaws.com only "
                   f"with aws:SourceArn = {topic}, and nothing more",
                   "; ".join(f"`{q}`: {f}" for q, f in wrong.items()) or "both right",
                   findings=findings, audits=audits)


@scenario(timeout=60)
def sns_run(ctx: CheckContext) -> dict[str, Any]:
    urls = {c: ctx.require_queue_url(c, fix="create it in sns_infra.py and run "
                                            "`python sns_infra.py`") for c in SUBSCRIBERS}
    if not _topic_exists(ctx):
        raise ScenarioFailed(f"the topic `{ctx.name('orders')}` does not exist",
                             fix="create it in sns_infra.py and run `python sns_infra.py`")
    for url in urls.values():
        ctx.clear(url)
    run = uuid.uuid4().hex[:8]
    ctx.runner.set_faults([])
    producer = ctx.runner.run("producer.py", "--to", "sns", "--run", run, "--orders",
                              str(SQS_ORDERS), timeout=40, check=False)
    if producer.returncode != 0:
        raise ScenarioFailed("`producer.py --to sns` failed: "
                             f"{_failure_line(producer.output())}", producer.output(),
                             fix="run `python producer.py --to sns` yourself to see why")
    total = SQS_ORDERS * len(STAGES)
    # SNS delivers asynchronously: wait (bounded) until both queues stop growing.
    history: list[tuple[int, ...]] = []

    def delivered() -> bool:
        history.append(tuple(sum(ctx.message_counts(u)) for u in urls.values()))
        if all(n >= total for n in history[-1]):
            return True
        return len(history) > 6 and len(set(history[-6:])) == 1

    ctx.runner.wait_until(delivered, timeout=10, interval=0.25)
    # Billing first, all of it: then shipping, whose copies must be untouched by that.
    received = {c: _read_queue(ctx, urls[c], run, delete=True) for c in SUBSCRIBERS}
    return {"run": run, "received": received, "sns_calls": dict(producer.api_calls("sns")),
            "sqs_calls": dict(producer.api_calls("sqs")), "output": producer.output(5)}


@check
def own_copy_each(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("sns_run")
    run = result["run"]
    expected = [e["event_id"] for e in _events(run, SQS_ORDERS)]
    goal = (f"each of the {len(expected)} events once in `{ctx.name('billing')}` AND once "
            f"in `{ctx.name('shipping')}`: one publish, one copy per subscriber")
    direct = result["sqs_calls"].get("SendMessage", 0) + \
        result["sqs_calls"].get("SendMessageBatch", 0)
    published = result["sns_calls"].get("Publish", 0) + result["sns_calls"].get(
        "PublishBatch", 0)
    if direct and not published:
        return failed(goal, f"your producer sent to the queues itself ({direct} SQS sends, "
                      "no Publish): that is two producers' worth of work, and a third "
                      "subscriber would need a code change — publish to the topic and let "
                      "SNS fan out", calls=result["sqs_calls"])
    score = 0.0
    found = []
    for consumer in SUBSCRIBERS:
        counts = Counter(m["event_id"] for m in result["received"][consumer])
        got = sum(1 for e in expected if counts.get(e) == 1)
        twice = [e for e in expected if counts.get(e, 0) > 1]
        score += got / len(expected) / len(SUBSCRIBERS)
        line = f"`{ctx.name(consumer)}` {got}/{len(expected)}"
        if not counts:
            line += " (nothing arrived: is it subscribed to this topic?)"
        elif twice:
            line += (f" ({len(twice)} events twice, e.g. `{_short(twice[0], run)}`: two "
                     "subscriptions deliver to this queue, or the producer publishes twice)")
        found.append(line)
    if score >= 0.999:
        return passed(goal, ", ".join(found) + f": the tutor emptied `{ctx.name('billing')}` "
                      f"first and `{ctx.name('shipping')}` still held all its own copies — "
                      "SNS pushed one copy per subscription and kept none itself")
    return partial(score, goal, "; ".join(found))


# --- step 3: Kinesis stream, partition key -------------------------------------------------

def _summary(ctx: CheckContext) -> dict[str, Any] | None:
    kinesis = ctx.client("kinesis")
    try:
        return dict(kinesis.describe_stream_summary(StreamName=ctx.name("orders"))[
            "StreamDescriptionSummary"])
    except kinesis.exceptions.ResourceNotFoundException:
        return None


def _require_stream(ctx: CheckContext) -> dict[str, Any]:
    summary = _summary(ctx)
    if summary is None:
        raise ScenarioFailed(f"the stream `{ctx.name('orders')}` does not exist",
                             fix="create it in stream_infra.py and run "
                                 "`python stream_infra.py`")
    if summary.get("StreamStatus") != "ACTIVE":
        raise ScenarioFailed(f"the stream `{ctx.name('orders')}` is "
                             f"{summary.get('StreamStatus')}, not ACTIVE",
                             fix="wait for it to be ACTIVE (stream_infra.py should)")
    return summary


def _shards(ctx: CheckContext) -> list[dict[str, Any]]:
    kinesis = ctx.client("kinesis")
    shards: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StreamName": ctx.name("orders")}
    for _ in range(20):
        page = kinesis.list_shards(**kwargs)
        shards.extend(page.get("Shards", []))
        if not page.get("NextToken"):
            break
        kwargs = {"NextToken": page["NextToken"]}
    return shards


def _read_stream(ctx: CheckContext, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Every record of the stream, shard by shard from TRIM_HORIZON, in shard order."""
    kinesis = ctx.client("kinesis")
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    for shard in _shards(ctx):
        iterator = kinesis.get_shard_iterator(
            StreamName=ctx.name("orders"), ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator and time.monotonic() < deadline:
            reply = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            for record in reply["Records"]:
                event = _json(record["Data"])
                records.append({"shard": shard["ShardId"],
                                "sequence_number": record["SequenceNumber"],
                                "key": record.get("PartitionKey"),
                                "event_id": event.get("event_id"),
                                "order_id": event.get("order_id"), "seq": event.get("seq"),
                                "amount_cents": event.get("amount_cents")})
            if not reply["Records"] or not reply.get("MillisBehindLatest", 0):
                break
            iterator = reply.get("NextShardIterator")
    return records


def _shard_of_key(shards: list[dict[str, Any]], key: str) -> str:
    """The shard whose hash key range holds MD5(key), as Kinesis maps a partition key."""
    value = int(hashlib.md5(key.encode()).hexdigest(), 16)  # Kinesis's own hash
    for shard in shards:
        span = shard.get("HashKeyRange", {})
        if int(span.get("StartingHashKey", 0)) <= value <= int(span.get("EndingHashKey", 0)):
            return str(shard["ShardId"])
    return ""


@check
def stream_shards(ctx: CheckContext) -> Outcome:
    summary = _summary(ctx)
    goal = f"the stream `{ctx.name('orders')}` in provisioned mode with 2 or more open shards"
    if summary is None:
        return failed(goal, "no such stream")
    mode = summary.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
    shards = int(summary.get("OpenShardCount", 0))
    problems = []
    if mode != "PROVISIONED":
        problems.append(f"StreamMode={mode}: this lab prices the stream by shard-hour "
                        "(provisioned); on-demand is billed by stream-hour and GB")
    if shards < 2:
        problems.append(f"{shards} open shard: with one shard there is nothing to spread "
                        "orders over (one shard takes 1 MB/s or 1,000 records/s in)")
    if not problems:
        return passed(goal, f"StreamMode={mode}, {shards} open shards, "
                      f"{summary.get('StreamStatus')}")
    return partial(1 - len(problems) / 2, goal, "; ".join(problems))


@scenario(timeout=60)
def stream_run(ctx: CheckContext) -> dict[str, Any]:
    _require_stream(ctx)
    run = uuid.uuid4().hex[:8]
    total = KINESIS_ORDERS * len(STAGES)
    ctx.runner.set_faults(list(PRODUCER_FAULTS))
    limit = ctx.budget(20 + 0.5 * total, f"{total} puts at up to 0.5 s each on a loaded "
                       "machine, plus the start of producer.py")
    try:
        producer = ctx.runner.run("producer.py", "--to", "kinesis", "--run", run, "--orders",
                                  str(KINESIS_ORDERS), timeout=max(limit, 20), check=False)
    finally:
        fired = _fired(ctx)
        ctx.runner.set_faults([])
    if producer.returncode != 0:
        line = _failure_line(producer.output())
        if THROTTLED in producer.output():
            raise ScenarioFailed(
                "`producer.py --to kinesis` stopped at the put the tutor refused with "
                f"{THROTTLED} (as a shard over 1 MB/s or 1,000 records/s does): a "
                "throttled put must be retried, after a short back-off, before the next "
                "event of that order goes out", producer.output(),
                fix="catch botocore's ClientError, look at its code, and retry")
        raise ScenarioFailed(f"`producer.py --to kinesis` failed: {line}", producer.output(),
                             fix="run `python producer.py --to kinesis` yourself to see why")
    records = [r for r in _read_stream(ctx) if str(r["event_id"]).startswith(run + "-")]
    return {"run": run, "records": records, "fired": fired, "shards": _shards(ctx),
            "calls": dict(producer.api_calls("kinesis")), "output": producer.output(5)}


def _per_order(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    per: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        per[str(record["order_id"])].append(record)
    return per


@check
def key_keeps_order(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("stream_run")
    run = result["run"]
    events = _events(run, KINESIS_ORDERS)
    orders = sorted({e["order_id"] for e in events})
    per = _per_order(result["records"])
    goal = ("every order's three events in ONE shard, in the order they happened "
            "(created, paid, shipped)")
    good = 0
    problems: dict[str, list[str]] = defaultdict(list)
    arrived = {str(r["event_id"]) for r in result["records"]}
    missing = [e["event_id"] for e in events if e["event_id"] not in arrived]
    for order in orders:
        mine = per.get(order, [])
        shards = {r["shard"] for r in mine}
        if len(shards) > 1:
            problems["spread"].append(f"`{_short(order, run)}` over {len(shards)} shards")
            continue
        seqs = [int(r["seq"] or 0) for r in sorted(mine, key=lambda r: int(
            r["sequence_number"]))]
        if seqs == [1, 2, 3]:
            good += 1
        elif len(seqs) > len(set(seqs)):
            problems["twice"].append(f"`{_short(order, run)}` as steps {seqs}")
        elif sorted(seqs) == seqs:
            continue  # an event is missing: said below
        else:
            problems["order"].append(f"`{_short(order, run)}` as steps {seqs}")
    if not problems and not missing:
        shards = sorted({r["shard"] for r in result["records"]})
        return passed(goal, f"{len(orders)} orders, each in one shard and in sequence "
                      f"(over {len(shards)} shards), through the tutor's throttled put",
                      keys=sorted({str(r["key"]) for r in result["records"]})[:4])
    found = []
    if problems["spread"]:
        found.append(f"{len(problems['spread'])} orders spread over several shards (e.g. "
                     f"{problems['spread'][0]}): the partition key differs between the "
                     "events of one order (the event type, a random id?), and Kinesis keeps "
                     "order only within a shard — give every event of an order the same key")
    if missing:
        throttled = bool(result["fired"])
        found.append(f"{len(missing)} events never reached the stream (e.g. "
                     f"`{_short(missing[0], run)}`)" + (
                         f": the tutor refused one put with {THROTTLED} and your producer "
                         "went on without it — retry a throttled put" if throttled else ""))
    if problems["order"]:
        found.append(f"{len(problems['order'])} orders out of sequence in their shard (e.g. "
                     f"{problems['order'][0]}): an event of that order went in after a "
                     "later one — after a throttled put, retry it BEFORE the next event of "
                     "the same key (a put retried later, or a PutRecords batch whose failed "
                     "records are resent after the rest, lands behind the later events)")
    if problems["twice"]:
        found.append(f"events put twice (e.g. {problems['twice'][0]})")
    return partial(good / len(orders), goal, "; ".join(found), missing=[
        _short(e, run) for e in missing[:6]], **{k: v[:6] for k, v in problems.items()})


@check
def orders_spread(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("stream_run")
    records = result["records"]
    goal = "the orders spread over the stream's shards (different orders, different keys)"
    if not records:
        return failed(goal, "none of the producer's events in the stream")
    used = Counter(r["shard"] for r in records)
    open_shards = [s for s in result["shards"]
                   if not s.get("SequenceNumberRange", {}).get("EndingSequenceNumber")]
    if len(used) >= 2:
        return passed(goal, ", ".join(f"{s}: {n} records" for s, n in sorted(used.items())))
    keys = {str(r["key"]) for r in records}
    only = next(iter(used))
    if len(open_shards) < 2:
        return failed(goal, f"the stream has {len(open_shards)} open shard")
    if len(keys) == 1:
        return failed(goal, f"all {len(records)} records in `{only}` under the one partition "
                      f"key `{next(iter(keys))}`: every order hashes to the same shard, a hot "
                      "shard that takes at most 1 MB/s or 1,000 records/s however many shards "
                      "the stream has — key by the order", keys=list(keys))
    orders = {str(r["order_id"]) for r in records}
    if len(keys) < len(orders):
        return failed(goal, f"all {len(records)} records in `{only}`: your partition key "
                      f"has {len(keys)} values for {len(orders)} orders ({sorted(keys)[:3]}), "
                      "so the orders cannot spread — key by the order", keys=sorted(keys))
    # A key per order, one shard: bad luck of the hash, or an ExplicitHashKey that
    # overrides the key. The keys' MD5 tells which.
    mapped = {_shard_of_key(result["shards"], k) for k in keys}
    if mapped == {only}:
        return passed(goal, f"{len(keys)} different keys, all of which MD5 happens to map to "
                      f"`{only}` (chance, with this run's ids; the key is right)")
    return failed(goal, f"all records in `{only}` although their {len(keys)} partition keys "
                  "map to different shards: an ExplicitHashKey overrides the partition key "
                  "and sends everything to one shard", keys=sorted(keys)[:6])


@check
def throttle_retried(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("stream_run")
    run = result["run"]
    total = KINESIS_ORDERS * len(STAGES)
    arrived = {str(r["event_id"]) for r in result["records"]}
    got = sum(1 for e in _events(run, KINESIS_ORDERS) if e["event_id"] in arrived)
    goal = (f"the put the tutor refused with {THROTTLED} retried: all {total} events "
            "in the stream")
    if not result["fired"]:
        return failed(goal, "the tutor's throttle never fired: your producer made no "
                      "PutRecord or PutRecords call", calls=result["calls"])
    if got == total:
        return passed(goal, f"{got}/{total} events, {result['calls']} calls: the throttled "
                      "put was retried")
    return partial(got / total, goal, f"{got}/{total} events: the refused put was dropped — "
                   "a producer must retry it (with a back-off; botocore's own retries can "
                   "run out too)", calls=result["calls"])


# --- step 4: two consumers, their own checkpoints, a crash -------------------------------------

def _put_orders(ctx: CheckContext, run: str, orders: int) -> None:
    """The tutor's own producer: one PutRecords per stage, so each call holds one record
    per order and a failed record is retried before the order's next event."""
    kinesis = ctx.client("kinesis")
    for stage in range(1, len(STAGES) + 1):
        batch = [e for e in _events(run, orders) if e["seq"] == stage]
        for _ in range(5):
            reply = kinesis.put_records(StreamName=ctx.name("orders"), Records=[
                {"Data": json.dumps(e).encode(), "PartitionKey": e["order_id"]}
                for e in batch])
            failed_ = [e for e, r in zip(batch, reply["Records"], strict=False)
                       if r.get("ErrorCode")]
            if not failed_:
                break
            batch = failed_
            time.sleep(0.2)


def _db(ctx: CheckContext, name: str) -> Path:
    return ctx.workspace / f"{name}.db"


def _read_db(path: Path) -> dict[str, Any]:
    """A consumer's state, read-only: handled rows (in insertion order) and checkpoints."""
    state: dict[str, Any] = {"exists": path.is_file(), "rows": [], "checkpoints": None,
                             "error": "", "unique": False}
    if not path.is_file():
        return state
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        state["error"] = str(exc)
        return state
    try:
        rows = conn.execute("SELECT shard_id, sequence_number, order_id, seq, charge_cents, "
                            "handled_at, pid FROM handled ORDER BY rowid").fetchall()
        state["rows"] = [{"shard": r[0], "sequence_number": str(r[1]), "order_id": r[2],
                          "seq": r[3], "charge": r[4], "t": r[5], "pid": r[6]} for r in rows]
        schema = conn.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'handled' "
                              "AND sql IS NOT NULL").fetchall()
        state["unique"] = any("UNIQUE" in str(r[0]).upper() or "PRIMARY KEY" in
                              str(r[0]).upper() for r in schema)
        try:
            state["checkpoints"] = dict(conn.execute(
                "SELECT shard_id, sequence_number FROM checkpoints").fetchall())
        except sqlite3.Error:
            state["checkpoints"] = None
    except sqlite3.Error as exc:
        state["error"] = str(exc)
    finally:
        conn.close()
    return state


def _batch_for(records: list[dict[str, Any]]) -> int:
    """A GetRecords Limit that gives the busiest shard about 6 batches, however many
    records earlier runs left in the stream (so billing commits often enough for the
    tutor's crashes to land while records are still waiting)."""
    per_shard = Counter(r["shard"] for r in records)
    most = max(per_shard.values(), default=0)
    return max(3, math.ceil(most / 6))


def _caught_up(program: Any, shards: int) -> bool:
    """The program's current process is at the tip: alive, and the last two GetRecords
    calls it made in each shard found nothing new. Per shard (the hook names each call's
    shard): a consumer that reads its shards in threads makes many empty reads of a
    finished shard while another still has records, and counting its reads after its
    last commit judged it mid-way."""
    if not program.alive:
        return False
    pid = program.proc.pid
    last: dict[str, list[dict[str, Any]]] = {}
    for event in program.events("api"):
        if event.get("pid") == pid and event.get("op") == "GetRecords" and \
                not event.get("error"):
            last.setdefault(str(event.get("shard", "")), []).append(event)
    if len([shard for shard in last if shard]) < shards:
        return False
    return all(len(reads) >= 2 and all(not r.get("n") and not r.get("behind")
                                       for r in reads[-2:])
               for shard, reads in last.items() if shard)


def _keys(rows: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((r["shard"], r["sequence_number"]) for r in rows)


def _committed(ctx: CheckContext) -> tuple[Any, ...]:
    """What the consumers have committed so far (rows and checkpoints of each .db): it
    changes while they still work, however slowly the machine lets them."""
    states = [_read_db(_db(ctx, name)) for name in CONSUMERS]
    return tuple((len(s["rows"]), tuple(sorted((s["checkpoints"] or {}).items())))
                 for s in states)


def _starts(program: Any) -> list[dict[str, Any]]:
    """Where the program's processes started each shard (GetShardIterator)."""
    return [{"pid": e.get("pid"), "shard": e.get("shard", ""), "type": e.get("type", ""),
             "from": e.get("from")} for e in program.events("api")
            if e.get("op") == "GetShardIterator" and not e.get("error")]


def _read_spans(program: Any) -> list[tuple[int, int]]:
    """The sequence-number ranges the program's GetRecords calls returned."""
    spans = []
    for e in program.events("api"):
        if e.get("op") == "GetRecords" and e.get("first") and e.get("last"):
            try:
                spans.append((int(e["first"]), int(e["last"])))
            except ValueError:
                continue
    return spans


def _run_consumers(ctx: CheckContext, records: list[dict[str, Any]], shards: int,
                   crash_billing: bool) -> dict[str, Any]:
    """Start analytics, then billing (with the tutor's crashes if `crash_billing`); wait
    until both are at the tip with every record handled, or the budget runs out."""
    batch = _batch_for(records)
    pause = ctx.clock.seconds("billing_pause")
    expected = {(r["shard"], r["sequence_number"]) for r in records}
    ctx.runner.set_faults([])
    started = time.time()
    # Both at once, each at its own pace: analytics reads as fast as it can, billing
    # pauses between reads (and only billing runs with the tutor's crashes).
    analytics = ctx.runner.start("consumer.py", "analytics", "--batch", str(batch),
                                 "--pause", "0.05")
    if crash_billing:
        ctx.runner.set_faults(list(CONSUMER_FAULTS))
    billing = ctx.runner.start("consumer.py", "billing", "--batch", str(batch), "--pause",
                               f"{pause:g}", restarts=len(CONSUMER_FAULTS) if crash_billing
                               else 0)
    startup = ctx.wait_started([analytics, billing])
    batches = sum(math.ceil(n / batch) for n in Counter(r["shard"] for r in records).values())
    wait = ctx.budget((len(CONSUMER_FAULTS) + 2) * startup + batches * (pause + 0.5) + 12,
                      f"{batches} batches of {batch} records at billing's pace "
                      f"({pause:g} s between reads), plus {startup:.1f} s to start "
                      "consumer.py after each of the tutor's crashes")
    done: dict[str, float] = {}

    def settled() -> bool:
        for name in CONSUMERS:
            if name not in done and expected <= set(_keys(_read_db(_db(ctx, name))["rows"])):
                done[name] = time.time() - started
        return all(_caught_up(p, shards) or p.finished for p in (analytics, billing))

    ctx.wait_progressing(settled, wait, lambda: (_committed(ctx), billing.restarts),
                         what="the consumers' commits", programs=(analytics, billing))
    behind = [name for name, p in (("analytics", analytics), ("billing", billing))
              if name not in done and not _caught_up(p, shards) and not p.finished]
    outputs = {"analytics": analytics.output(8), "billing": billing.output(12)}
    pids = list(dict.fromkeys(e.get("pid") for e in billing.events("api")))
    starts, spans = _starts(billing), _read_spans(billing)
    analytics.stop()
    billing.stop()
    fired = _fired(ctx)
    ctx.runner.set_faults([])
    return {"batch": batch, "pause": pause, "done": done, "outputs": outputs,
            "billing_pids": pids, "restarts": billing.restarts, "fired": fired,
            "billing_starts": starts, "billing_spans": spans, "behind": behind,
            "waited": round(time.time() - started, 1),
            "alive": {"analytics": analytics.returncode, "billing": billing.exits}}


@scenario(timeout=90)
def consumers_run(ctx: CheckContext) -> dict[str, Any]:
    _require_stream(ctx)
    for name in CONSUMERS:  # two new consumer applications: no state of an earlier run
        _db(ctx, name).unlink(missing_ok=True)
    run = uuid.uuid4().hex[:8]
    _put_orders(ctx, run, CONSUMER_ORDERS)
    records = _read_stream(ctx)
    shards = len(_shards(ctx))
    outcome = _run_consumers(ctx, records, shards, crash_billing=True)
    states = {name: _read_db(_db(ctx, name)) for name in CONSUMERS}
    return {"run": run, "records": records, "states": states, **outcome}


def _incarnation(result: dict[str, Any], pid: Any) -> int:
    pids = result["billing_pids"]
    return pids.index(pid) if pid in pids else -1


def _crash_of(result: dict[str, Any], pid: Any) -> str:
    """The id of the tutor's fault that ended billing's process `pid` ("" if none)."""
    for fault in result["fired"]:
        if fault.get("pid") == pid:
            return str(fault.get("id"))
    return ""


def _lost_why(result: dict[str, Any], name: str, lost: list[tuple[str, str]]) -> str:
    state = result["states"][name]
    rows = state["rows"]
    if not rows:
        return (f"{name} handled nothing: it starts at LATEST (only records put after it "
                "started), but the tutor put them first — a consumer with no checkpoint "
                "starts at TRIM_HORIZON")
    if name == "analytics":
        return ("analytics lost them without any crash: where does it start reading a "
                "shard it has no checkpoint for?")
    foreign = _foreign_start(result)
    if foreign:
        return foreign
    still = _still_reading(result, name, lost)
    if still:
        return still
    shard, number = lost[0]
    in_shard = sorted((r for r in rows if r["shard"] == shard),
                      key=lambda r: int(r["sequence_number"]))
    before = [r for r in in_shard if int(r["sequence_number"]) < int(number)]
    after = [r for r in in_shard if int(r["sequence_number"]) > int(number)]
    crash = _crash_of(result, before[-1]["pid"]) if before else ""
    if not crash and not before and after:
        crash = next((f["id"] for f in result["fired"]
                      if _incarnation(result, f.get("pid")) <
                      _incarnation(result, after[0]["pid"])), "")
    words = CRASH_WORDS.get(crash, "")
    lost_here = sum(1 for k in lost if k[0] == shard)
    if crash and lost_here > result["batch"]:
        # More than the one batch the crash interrupted: the restart jumped ahead.
        return (f"the tutor crashed billing {words}; the restarted billing did not go on "
                "from its own checkpoint but jumped ahead (LATEST, or a position another "
                "consumer saved) — resume AFTER_SEQUENCE_NUMBER of billing's OWN last "
                "checkpoint")
    if crash:
        return (f"the tutor crashed billing {words}: billing's saved position already "
                "covered the batch it was handling, whose rows were never committed — the "
                "checkpoint was saved before the rows, outside their transaction (another "
                "commit, a file); save it in the same transaction as the rows it covers")
    if state["checkpoints"] == {}:
        return ("billing.db has no checkpoints: after a crash billing cannot know where it "
                "was, and it started again at LATEST")
    return ("after the tutor's crashes billing started again past records it had not "
            "handled: resume after its own last checkpoint, saved with the rows")


def _still_reading(result: dict[str, Any], name: str, lost: list[tuple[str, str]]) -> str:
    """Why records are missing when the consumer was still on its way to them: running,
    not at the tip, and every missing record after its own checkpoint. Nothing was lost
    yet; the tutor stopped waiting because the consumer stopped committing."""
    if name not in result.get("behind", ()):
        return ""
    checkpoints = result["states"][name]["checkpoints"] or {}
    saved = {shard: int(str(point)) for shard, point in checkpoints.items()
             if str(point).isdigit()}
    ahead = [k for k in lost if int(k[1]) > saved.get(k[0], -1)]
    if len(ahead) < len(lost):
        return ""
    return (f"{name} was still running, short of the end of the stream, and every record "
            f"it had not handled comes after its own checkpoint: it had committed nothing "
            f"for the last {PROGRESS_GRACE:g} s when the tutor stopped waiting — a consumer "
            "stuck (a lock? a loop that no longer reads?), or a machine too busy: run the "
            "check again")


def _foreign_start(result: dict[str, Any]) -> str:
    """Why billing lost records, when one of its processes started a shard after a record
    that billing itself never read: the position came from somewhere else."""
    spans = result.get("billing_spans", [])
    analytics = {r["sequence_number"] for r in result["states"]["analytics"]["rows"]}
    for start in result.get("billing_starts", []):
        point = start.get("from")
        if not point or not str(point).isdigit():
            continue
        number = int(point)
        if any(first <= number <= last for first, last in spans):
            continue  # a record billing read: its own position
        whose = (" — analytics had handled it: one checkpoint shared by both consumers, so "
                 "billing resumed at another consumer's position" if point in analytics
                 else "")
        return (f"a billing process started {start.get('shard') or 'a shard'} "
                f"{start.get('type')} ...{str(point)[-6:]}, a record billing never read"
                f"{whose}; each consumer keeps its own checkpoint, in its own .db, and "
                "resumes after it")
    return ""


@check
def both_saw_everything(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("consumers_run")
    expected = [(r["shard"], r["sequence_number"]) for r in result["records"]]
    goal = (f"both consumers to handle every one of the {len(expected)} records in the "
            "stream, billing through the tutor's two crashes")
    found = []
    score = 0.0
    lost_by: dict[str, int] = {}
    for name in CONSUMERS:
        state = result["states"][name]
        handled = set(_keys(state["rows"]))
        lost = [k for k in expected if k not in handled]
        lost_by[name] = len(lost)
        score += (len(expected) - len(lost)) / len(expected) / len(CONSUMERS)
        if state["error"]:
            found.append(f"{name}.db cannot be read: {state['error']}")
        elif not state["exists"]:
            found.append(f"{name}.db was never written (did consumer.py start? "
                         f"{_failure_line(result['outputs'][name])})")
        elif lost:
            found.append(f"{name} never handled {len(lost)} records (e.g. shard "
                         f"{lost[0][0]}, sequence ...{lost[0][1][-6:]}): "
                         f"{_lost_why(result, name, lost)}")
    crashes = ", ".join(CRASH_WORDS.get(str(f["id"]), str(f["id"])) for f in result["fired"])
    evidence = {"crashes": result["fired"], "lost": lost_by, "batch": result["batch"],
                "billing_restarts": result["restarts"]}
    if not found:
        return passed(goal, f"analytics {len(expected)}/{len(expected)}, billing "
                      f"{len(expected)}/{len(expected)}, billing crashed "
                      f"{len(result['fired'])} times ({crashes}) and resumed from its "
                      "checkpoint each time", **evidence)
    return partial(score, goal, "; ".join(found) + ctx.budget_note(),
                   billing_output=result["outputs"]["billing"], **evidence)


@check
def no_record_twice(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("consumers_run")
    goal = "no record handled twice by a consumer: a restart resumes right after the checkpoint"
    found = []
    total = len(result["records"]) or 1
    score = 0.0
    for name in CONSUMERS:
        rows = result["states"][name]["rows"]
        counts = _keys(rows)
        twice = [k for k, n in counts.items() if n > 1]
        if result["states"][name].get("unique"):
            found.append(f"{name}.db's `handled` table has a UNIQUE or PRIMARY KEY "
                         "constraint: it hides a record handled twice, which is what the "
                         "tutor counts — keep `handled` a plain table (keep idempotent "
                         "results in a table of their own)")
            continue
        score += (1 - min(1.0, len(twice) / total)) / len(CONSUMERS)
        if twice:
            found.append(f"{name} handled {len(twice)} records more than once: "
                         f"{_twice_why(result, name, twice)}")
    if not found:
        return passed(goal, "each record handled exactly once by analytics and once by "
                      "billing")
    return partial(score, goal, "; ".join(found))


def _twice_why(result: dict[str, Any], name: str, twice: list[tuple[str, str]]) -> str:
    rows = result["states"][name]["rows"]
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_key[(row["shard"], row["sequence_number"])].append(row)
    same_process = [k for k in twice if len({r["pid"] for r in by_key[k]}) == 1]
    if len(same_process) == len(twice):
        return ("by the same process, without a crash in between: does your loop read "
                "with an old shard iterator instead of NextShardIterator?")
    # Which records did each restart handle again?
    again: dict[Any, list[tuple[str, str]]] = defaultdict(list)
    for key in twice:
        pids = [r["pid"] for r in by_key[key]]
        for earlier, later in itertools.pairwise(pids):
            if earlier != later:
                again[earlier].append(key)
    last_handled = {}
    for pid, keys in again.items():
        mine = [r for r in rows if r["pid"] == pid]
        for key in keys:
            shard_rows = [r for r in mine if r["shard"] == key[0]]
            last_handled[key] = bool(shard_rows) and max(
                int(r["sequence_number"]) for r in shard_rows) == int(key[1])
    one_per_shard = all(len(keys) == len({k[0] for k in keys}) for keys in again.values())
    if again and one_per_shard and all(last_handled.values()):
        return ("after each restart it handled the checkpointed record itself again: "
                "AT_SEQUENCE_NUMBER starts AT the checkpoint, AFTER_SEQUENCE_NUMBER right "
                "after it")
    if again and max(len(keys) for keys in again.values()) > result["batch"]:
        return ("after a crash it started over from the oldest record (TRIM_HORIZON) and "
                "handled again records it had handled long before: the restarted consumer "
                "does not go on from its checkpoint")
    crashes = {_crash_of(result, pid) for pid in again}
    if "after-commit" in crashes:
        return ("the tutor crashed billing right after a commit: the rows of a batch were "
                "committed, its checkpoint was not yet (a separate transaction, or a file) "
                "— so the restart handled that batch again; save the checkpoint in the same "
                "transaction as the rows")
    return ("after the tutor's crashes it handled records again that it had already "
            "committed: its checkpoint lagged behind its rows — save it in the same "
            "transaction as the rows it covers")


@check
def own_checkpoints(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("consumers_run")
    tips: dict[str, str] = {}
    for record in result["records"]:
        tips[record["shard"]] = record["sequence_number"]
    goal = ("each consumer's own checkpoint (checkpoints table of its own .db) at the last "
            "record of every shard, reached at its own pace")
    found = []
    right = 0
    for name in CONSUMERS:
        points = result["states"][name]["checkpoints"]
        if points is None:
            found.append(f"{name}.db has no checkpoints table")
            continue
        wrong = {s: points.get(s) for s, tip in tips.items() if points.get(s) != tip}
        if wrong:
            shard = next(iter(wrong))
            found.append(f"{name}'s checkpoint for {shard} is "
                         f"{'missing' if wrong[shard] is None else '...' + str(wrong[shard])[-6:]}"
                         f", the shard's last record is ...{tips[shard][-6:]}")
        else:
            right += 1
    done = result["done"]
    pace = ", ".join(f"{n} caught up after {done[n]:.1f} s" for n in CONSUMERS if n in done)
    if right == len(CONSUMERS):
        return passed(goal, f"both at the tip of all {len(tips)} shards; {pace} — billing's "
                      "crashes did not hold analytics back", done=done)
    return partial(right / len(CONSUMERS), goal, "; ".join(found), done=done)


@check
def order_per_key(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("consumers_run")
    run = result["run"]
    goal = "each consumer to handle every order's events in sequence (created, paid, shipped)"
    found = []
    right = 0
    for name in CONSUMERS:
        seen: set[tuple[str, str]] = set()
        per_order: dict[str, list[int]] = defaultdict(list)
        for row in result["states"][name]["rows"]:
            key = (row["shard"], row["sequence_number"])
            if key in seen or not str(row["order_id"]).startswith(run + "-"):
                continue
            seen.add(key)
            per_order[_short(row["order_id"], run)].append(int(row["seq"] or 0))
        bad = {o: s for o, s in per_order.items() if s != sorted(s)}
        if not per_order:
            found.append(f"{name}: no order of this run handled")
        elif bad:
            order, seqs = next(iter(bad.items()))
            found.append(f"{name} handled `{order}` as steps {seqs}: does it handle a "
                         "shard's records out of their sequence?")
        else:
            right += 1
    if right == len(CONSUMERS):
        return passed(goal, f"{CONSUMER_ORDERS} orders in sequence in both consumers: one "
                      "key per order keeps an order in one shard, read in order")
    return partial(right / len(CONSUMERS), goal, "; ".join(found))


# --- step 5: the retention window ------------------------------------------------------------

@check
def retention_period(ctx: CheckContext) -> Outcome:
    want = int(ctx.clock.seconds("retention") // 3600)
    summary = _summary(ctx)
    goal = (f"the stream `{ctx.name('orders')}` to keep records for {want} hours "
            f"({want // 24} days)")
    if summary is None:
        return failed(goal, "no such stream")
    hours = int(summary.get("RetentionPeriodHours", 24))
    if hours == want:
        return passed(goal, f"RetentionPeriodHours={hours}: a replay reaches back "
                      f"{want // 24} days (24 h is the default, 8,760 h the maximum)")
    if hours == 24:
        why = "the default: a replay could reach back one day only"
    elif hours < want:
        why = f"the step asks for {want} (7 days)"
    else:
        why = (f"longer than the {want} the step asks for: retention beyond 24 h is billed "
               "per shard-hour (beyond 7 days per GB-month), so keep what the replay needs")
    return failed(goal, f"RetentionPeriodHours={hours}: {why}")


# --- step 6: replay after a bug fix ---------------------------------------------------------------

@scenario(timeout=90)
def replay_run(ctx: CheckContext) -> dict[str, Any]:
    _require_stream(ctx)
    for name in CONSUMERS:
        _db(ctx, name).unlink(missing_ok=True)
    run = uuid.uuid4().hex[:8]
    _put_orders(ctx, run, CONSUMER_ORDERS)
    records = _read_stream(ctx)
    shards = len(_shards(ctx))
    first = _run_consumers(ctx, records, shards, crash_billing=False)
    before = {name: _read_db(_db(ctx, name)) for name in CONSUMERS}
    batch = first["batch"]
    replay_start = time.time()
    billing = ctx.runner.start("consumer.py", "billing", "--replay", "--batch", str(batch),
                               "--pause", "0.05")
    startup = ctx.wait_started([billing])
    batches = sum(math.ceil(n / batch) for n in Counter(r["shard"] for r in records).values())
    wait = ctx.budget(startup + batches * 0.6 + 10,
                      f"{batches} batches of {batch} records for the replay, plus "
                      f"{startup:.1f} s to start consumer.py")

    ctx.wait_progressing(lambda: _caught_up(billing, shards) or billing.finished, wait,
                         lambda: (_committed(ctx), billing.restarts),
                         what="billing's replay commits", programs=(billing,))
    output = billing.output(10)
    billing.stop()
    after = {name: _read_db(_db(ctx, name)) for name in CONSUMERS}
    amounts = {str(r["order_id"]): int(r["amount_cents"] or 0) for r in records
               if str(r["order_id"]).startswith(run + "-")}
    return {"run": run, "records": records, "before": before, "after": after,
            "replay_start": replay_start, "amounts": amounts, "output": output,
            "first": {k: first[k] for k in ("done", "batch", "outputs")}}


@check
def replay_reprocessed(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("replay_run")
    start = result["replay_start"]
    expected = [(r["shard"], r["sequence_number"]) for r in result["records"]]
    rows = result["after"]["billing"]["rows"]
    new = [r for r in rows if float(r["t"] or 0) >= start]
    old = [r for r in rows if float(r["t"] or 0) < start]
    again = _keys(new)
    goal = (f"`consumer.py billing --replay` to handle all {len(expected)} records of the "
            "window again (every shard from TRIM_HORIZON) and rebuild billing.db: each "
            "record once, none left from before the replay")
    problems = []
    missing = [k for k in expected if k not in again]
    if not new:
        problems.append("the replay handled nothing: it kept billing's checkpoints (so it "
                        "went on from the tip), or started at LATEST — a replay starts every "
                        "shard at TRIM_HORIZON")
    elif missing:
        problems.append(f"the replay handled only {len(expected) - len(missing)} of "
                        f"{len(expected)} records (e.g. none of shard {missing[0][0]} before "
                        "...{missing[0][1][-6:]}): it started some shards at their old "
                        "checkpoint instead of TRIM_HORIZON")
    if old:
        problems.append(f"{len(old)} rows from before the replay are still in billing.db, "
                        "so those records now count twice — the replay must clear the "
                        "results it rebuilds")
    twice = [k for k, n in again.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} records handled twice during the replay")
    if not problems:
        return passed(goal, f"all {len(expected)} records of the window handled again, "
                      f"billing.db rebuilt ({len(rows)} rows, none from before): the stream "
                      "kept every record for its retention period, whereas SQS had nothing "
                      "left to replay (step 1)", rows=len(rows))
    bad = len(set(missing) | set(twice)) + (len(old) if old else 0)
    return partial(max(0.0, 1 - bad / max(1, len(expected))), goal, "; ".join(problems),
                   billing_output=result["output"], rows_after=len(rows),
                   rows_before=len(result["before"]["billing"]["rows"]))


@check
def bug_fixed(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("replay_run")
    run = result["run"]
    rows = result["after"]["billing"]["rows"]
    new = [r for r in rows if float(r["t"] or 0) >= result["replay_start"]] or rows
    charged: dict[str, int] = defaultdict(int)
    seen: set[tuple[str, str]] = set()
    for row in new:
        key = (row["shard"], row["sequence_number"])
        if key in seen or str(row["order_id"]) not in result["amounts"]:
            continue
        seen.add(key)
        charged[str(row["order_id"])] += int(row["charge"] or 0)
    amounts = result["amounts"]
    goal = (f"billing to charge each of the {len(amounts)} orders its amount once (on "
            "`paid`), in the rebuilt billing.db")
    if not charged:
        return failed(goal, "no charge of this run's orders in billing.db")
    wrong = {o: (charged.get(o, 0), a) for o, a in amounts.items() if charged.get(o, 0) != a}
    if not wrong:
        return passed(goal, f"{len(amounts)} orders, each charged exactly its amount")
    order, (got, amount) = next(iter(wrong.items()))
    times = got / amount if amount else 0
    if abs(times - len(STAGES)) < 0.01:
        why = ("three times its amount: billing charges every event (created, paid AND "
               "shipped) — charge only the `paid` event")
    elif got == 0:
        why = "nothing: billing charges no event"
    else:
        why = f"{got} cents"
    return partial(1 - len(wrong) / len(amounts), goal,
                   f"{len(wrong)} orders charged wrongly, e.g. `{_short(order, run)}` "
                   f"({amount} cents) was charged {why}")


@check
def other_consumer_untouched(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("replay_run")
    before = result["before"]["analytics"]
    after = result["after"]["analytics"]
    goal = "billing's replay to leave analytics alone (its rows and its checkpoints)"
    if not before["rows"]:
        return failed(goal, "analytics handled nothing before the replay, so there was "
                      "nothing to keep: " + _failure_line(result["first"]["outputs"]
                                                          ["analytics"]))
    if not after["exists"]:
        return failed(goal, "analytics.db is gone after billing's replay: the replay erased "
                      "another consumer's state — a replay is one consumer's decision")
    problems = []
    if len(after["rows"]) != len(before["rows"]):
        problems.append(f"analytics.db went from {len(before['rows'])} to "
                        f"{len(after['rows'])} rows")
    if after["checkpoints"] != before["checkpoints"]:
        problems.append("analytics' checkpoints changed")
    if not problems:
        return passed(goal, f"analytics.db unchanged ({len(after['rows'])} rows, same "
                      "checkpoints): each consumer has its own position in the same stream")
    return failed(goal, "; ".join(problems) + ": billing's replay touched analytics — keep "
                  "each consumer's state to itself")
