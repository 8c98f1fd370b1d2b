"""Checks for lab 08: fan-in (many producers, one queue) and fan-out (SNS, EventBridge)."""

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
    failed,
    partial,
    passed,
    scenario,
)
from tutor.engine.policy import PolicyError, audit, source_probes

SOURCES = ("web", "api", "payments")
EVENTS_PER_SOURCE = 60
# order_service.py's orders, by index: (type, amount)
ORDERS = [("physical", 25), ("digital", 1200), ("physical", 999.99), ("physical", 1000),
          ("digital", 5), ("physical", 4500), ("digital", 80), ("physical", 60),
          ("digital", 1000), ("physical", 310), ("digital", 12.5), ("physical", 2300)]
CONSUMERS = {
    "billing": lambda kind, amount: True,
    "shipping": lambda kind, amount: kind == "physical",
    "audit": lambda kind, amount: amount >= 1000,
}
SHIPPED_SOURCE = "lab08.warehouse"
SHIPPED_TYPE = "OrderShipped"
# SendMessageBatch can succeed for some entries and fail for others (throttling, an entry
# SQS refuses): the tutor makes entries 3 and 8 of two batches come back in `Failed`.
FAILED_ENTRIES = faults.fail_batch_entries("SendMessageBatch", entries=[2, 7], nth=[2, 9],
                                           code="ServiceUnavailable", id="failed-entries")


# --- helpers -------------------------------------------------------------------------

def _require_queue(ctx: CheckContext, suffix: str) -> str:
    url = ctx.queue_url(suffix)
    if url is None:
        raise ScenarioFailed(f"the queue `{ctx.name(suffix)}` does not exist",
                             fix="create it in infra.py and run `python infra.py`")
    return url


def _drain(ctx: CheckContext, url: str, timeout: float, quiet: float = 1.0
           ) -> list[dict[str, Any]]:
    """Receive and delete until no message arrived for `quiet` seconds (bounded)."""
    sqs = ctx.client("sqs")
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - last < quiet:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0, MessageAttributeNames=["All"]
                                       ).get("Messages", [])
        if not messages:
            time.sleep(0.2)
            continue
        last = time.monotonic()
        for message in messages:
            attributes = message.get("MessageAttributes", {})
            found.append({"body": message["Body"],
                          "attributes": {k: v.get("StringValue") for k, v in
                                         attributes.items()},
                          "types": {k: v.get("DataType") for k, v in attributes.items()}})
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    return found


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _topic_arn(ctx: CheckContext) -> str:
    return f"arn:aws:sns:{ctx.endpoint.region}:{ctx.endpoint.account}:{ctx.name('orders')}"


def _subscriptions(ctx: CheckContext) -> dict[str, dict[str, str]]:
    """Queue name -> subscription attributes, for the orders topic's SQS subscriptions."""
    sns = ctx.client("sns")
    try:
        subs = sns.list_subscriptions_by_topic(TopicArn=_topic_arn(ctx)).get("Subscriptions", [])
    except sns.exceptions.NotFoundException:
        return {}
    found: dict[str, dict[str, str]] = {}
    for sub in subs:
        if sub.get("Protocol") != "sqs" or not sub["SubscriptionArn"].startswith("arn:"):
            continue
        attrs = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])
        found[sub["Endpoint"].rsplit(":", 1)[-1]] = attrs.get("Attributes", {})
    return found


# --- step 1: fan-in ----------------------------------------------------------------------

@scenario(timeout=80)
def fan_in(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx, "logs")
    ctx.client("sqs").purge_queue(QueueUrl=url)
    run = uuid.uuid4().hex[:8]
    ctx.runner.inject(FAILED_ENTRIES)
    try:
        programs = [ctx.runner.start("log_producer.py", "--source", source,
                                     "--count", str(EVENTS_PER_SOURCE), "--run", run)
                    for source in SOURCES]
        deadline = time.monotonic() + 30
        for program in programs:
            if program.wait(max(0.1, deadline - time.monotonic())) is None:
                program.stop()
                raise ScenarioFailed("`log_producer.py` did not finish within 30 s",
                                     program.output())
            if program.returncode != 0:
                raise ScenarioFailed(
                    f"`log_producer.py` exited with code {program.returncode}"
                    + (" after the tutor made entries of a SendMessageBatch come back in "
                       "`Failed` (SQS does that): resend those entries instead of giving "
                       "up" if program.faults() else ""),
                    program.output(), fix="run it yourself to see the error")
    finally:
        ctx.runner.set_faults([])
    calls: Counter[str] = Counter()
    for program in programs:
        calls.update(program.api_calls("sqs"))
    fired = ctx.runner.fired("batch_fail")
    # Every producer has finished: the queue holds all there is. The drain stops when the
    # queue is empty; the cap only matters when LocalStack is very slow.
    left = ctx.deadline.left() - 3 if ctx.deadline is not None else 40.0
    messages = [m for m in _drain(ctx, url, timeout=max(5.0, min(40.0, left)))
                if _json(m["body"]).get("run") == run]
    return {"run": run, "calls": dict(calls), "messages": messages,
            "failed_entries": sum(len(f.get("entries") or []) for f in fired),
            "failed_batches": len(fired)}


def _failed_entries_said(result: dict[str, Any]) -> str:
    count = result.get("failed_entries", 0)
    if not count:
        return ""
    return (f"the tutor made {count} entries of {result['failed_batches']} SendMessageBatch "
            "calls come back in `Failed`, as SQS does when single entries fail")


@check
def every_log_event(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("fan_in")
    per_source: dict[str, set[int]] = {s: set() for s in SOURCES}
    copies: Counter[tuple[str, int]] = Counter()
    for m in result["messages"]:
        body = _json(m["body"])
        if body.get("source") in per_source:
            seq = int(body.get("seq", -1))
            per_source[body["source"]].add(seq)
            copies[(body["source"], seq)] += 1
    counts = {s: len(seqs) for s, seqs in per_source.items()}
    total = sum(counts.values())
    want = EVENTS_PER_SOURCE * len(SOURCES)
    twice = sum(n - 1 for n in copies.values() if n > 1)
    expected = (f"{EVENTS_PER_SOURCE} events from each of {', '.join(SOURCES)} in "
                f"`{ctx.name('logs')}`, each once, also when entries of a batch fail")
    evidence = {"per_source": counts, "messages": len(result["messages"]),
                "duplicates": twice, "failed_entries": result.get("failed_entries", 0)}
    if total == want and not twice:
        return passed(expected, "all of them, once each"
                      + (f" ({_failed_entries_said(result)}; your producer resent them)"
                         if result.get("failed_entries") else ""), **evidence)
    said = _failed_entries_said(result)
    parts = []
    if total < want:
        parts.append(f"{want - total} events never arrived (" + ", ".join(
            f"{s}: {n}" for s, n in counts.items()) + ")")
        if said:
            parts.append(f"{said}: your producer does not resend the entries listed in "
                         "`Failed`")
    if twice:
        parts.append(f"{twice} events arrived twice: your producer resent the whole batch "
                     "(or sent events twice), not only the entries listed in `Failed`")
    return partial(max(0.0, total - twice) / want, expected, "; ".join(parts), **evidence)


@check
def source_attribute(ctx: CheckContext) -> Outcome:
    messages = ctx.scenario("fan_in")["messages"]
    if not messages:
        return failed("log events in the queue", "none")
    tagged = [m for m in messages
              if m["attributes"].get("source") == _json(m["body"]).get("source")]
    per_source = Counter(m["attributes"].get("source", "(none)") for m in messages)
    return partial(len(tagged) / len(messages), "every log event to carry its service in a "
                   "`source` message attribute", f"{len(tagged)} of {len(messages)} do",
                   per_source_attribute=dict(per_source))


@check
def batched_sends(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("fan_in")
    calls = result["calls"]
    single = calls.get("SendMessage", 0)
    batches = calls.get("SendMessageBatch", 0)
    events = EVENTS_PER_SOURCE * len(SOURCES)
    best = events // 10
    # Resending what came back in `Failed` costs calls: at most one per failed entry.
    allowance = int(result.get("failed_entries", 0))
    sends = single + batches
    if sends == 0:
        return failed("the producers to send their events", "no send call", calls=calls)
    expected = (f"about {best} send calls for {events} events (SendMessageBatch, 10 per "
                f"call)" + (f", plus at most {allowance} to resend failed entries"
                            if allowance else ""))
    found = f"{single} SendMessage and {batches} SendMessageBatch calls"
    if sends <= best + allowance and single <= allowance:
        return passed(expected, found, calls=calls)
    if single > allowance:
        found += ": events sent one at a time with SendMessage, where one SendMessageBatch " \
            "sends 10"
    else:
        found += f": {events / batches:.1f} events per batch, where a batch holds 10"
    return partial(min(0.99, (best + allowance) / sends), expected, found, calls=calls)


# --- step 2: topic, queues, raw subscriptions ------------------------------------------------

@check
def subscribed_raw(ctx: CheckContext) -> Outcome:
    subs = _subscriptions(ctx)
    if not subs:
        return failed(f"the topic `{ctx.name('orders')}` with SQS subscriptions",
                      "no topic" if not _topic_exists(ctx) else "no SQS subscription")
    score = 0.0
    found = []
    for consumer in CONSUMERS:
        attrs = subs.get(ctx.name(consumer))
        if attrs is None:
            found.append(f"{ctx.name(consumer)}: not subscribed")
            continue
        raw = attrs.get("RawMessageDelivery", "false")
        score += 0.5 + (0.5 if raw == "true" else 0.0)
        found.append(f"{ctx.name(consumer)}: RawMessageDelivery={raw}")
    return partial(score / len(CONSUMERS), "the three queues subscribed with "
                   "RawMessageDelivery=true", "; ".join(found), subscriptions=subs)


def _topic_exists(ctx: CheckContext) -> bool:
    sns = ctx.client("sns")
    try:
        sns.get_topic_attributes(TopicArn=_topic_arn(ctx))
    except sns.exceptions.NotFoundException:
        return False
    return True


# --- step 3: filter policies, observed by publishing -------------------------------------------

@scenario(timeout=45)
def fan_out(ctx: CheckContext) -> dict[str, Any]:
    urls = {c: _require_queue(ctx, c) for c in CONSUMERS}
    if not _topic_exists(ctx):
        raise ScenarioFailed(f"the topic `{ctx.name('orders')}` does not exist",
                             fix="create it in infra.py and run `python infra.py`")
    sqs = ctx.client("sqs")
    for url in urls.values():
        sqs.purge_queue(QueueUrl=url)
    run = uuid.uuid4().hex[:8]
    program = ctx.runner.run("order_service.py", "--run", run, timeout=20)
    received = {}
    for consumer, url in urls.items():
        received[consumer] = _drain(ctx, url, timeout=6, quiet=1.5)
    return {"run": run, "received": received, "output": program.output(5),
            "sqs_calls": dict(program.api_calls("sqs")),
            "sns_calls": dict(program.api_calls("sns"))}


def _order_index(message: dict[str, Any], run: str) -> int | None:
    body = _json(message["body"])
    order_id = str(body.get("order_id", ""))
    if not order_id.startswith(run + "-"):
        # maybe an SNS envelope (raw delivery off): the order is inside "Message"
        inner = _json(str(body.get("Message", "")))
        order_id = str(inner.get("order_id", ""))
        if not order_id.startswith(run + "-"):
            return None
    return int(order_id.rsplit("-", 1)[1])


def _consumer_outcome(ctx: CheckContext, consumer: str, rule: str) -> Outcome:
    result = ctx.scenario("fan_out")
    run = result["run"]
    wanted = {i for i, (kind, amount) in enumerate(ORDERS) if CONSUMERS[consumer](kind, amount)}
    got = [i for m in result["received"][consumer] if (i := _order_index(m, run)) is not None]
    got_set = set(got)
    missing = sorted(wanted - got_set)
    extra = sorted(got_set - wanted)
    right = len(wanted & got_set) - (len(got) - len(got_set))  # duplicates count against
    score = max(0.0, right - len(extra)) / len(wanted)
    describe = (f"{len(got)} orders" + (f", missing {[ORDERS[i] for i in missing]}"
                                        if missing else "")
                + (f", unwanted {[ORDERS[i] for i in extra]}" if extra else ""))
    return partial(score, f"`{ctx.name(consumer)}` to receive {rule}: {len(wanted)} of the "
                   f"{len(ORDERS)} orders, each once", describe, wanted=sorted(wanted),
                   received=sorted(got), publisher_output=result["output"])


@check
def billing_all(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("fan_out")
    direct = {op: n for op, n in result.get("sqs_calls", {}).items()
              if op in ("SendMessage", "SendMessageBatch")}
    if direct:
        return failed(f"`order_service.py` to publish each order once to the topic "
                      f"`{ctx.name('orders')}` and let the subscriptions fan it out",
                      f"it wrote to the queues itself ({direct}): the consumers are then "
                      "coupled to the publisher, which must know every queue",
                      sqs_calls=direct, sns_calls=result.get("sns_calls", {}))
    return _consumer_outcome(ctx, "billing", "every order")


@check
def shipping_physical(ctx: CheckContext) -> Outcome:
    return _consumer_outcome(ctx, "shipping", "only physical orders")


@check
def audit_high_value(ctx: CheckContext) -> Outcome:
    outcome = _consumer_outcome(ctx, "audit", "only orders with amount >= 1000")
    if not outcome.passed:
        return outcome
    # LocalStack compares a numeric filter with a String attribute too; AWS matches
    # numeric conditions only against attributes of DataType Number.
    scope = (_subscriptions(ctx).get(ctx.name("audit")) or {}).get(
        "FilterPolicyScope", "MessageAttributes")
    if scope == "MessageBody":
        return outcome
    types = Counter(str(m.get("types", {}).get("amount"))
                    for m in ctx.scenario("fan_out")["received"]["audit"])
    if set(types) == {"Number"}:
        return outcome
    return partial(0.5, "the `amount` attribute sent with DataType Number, so that the "
                   "numeric filter (>= 1000) compares numbers",
                   f"DataType {', '.join(sorted(types))}: LocalStack matched it anyway, "
                   "but on AWS a numeric condition never matches a String attribute, and "
                   "audit would receive nothing", data_types=dict(types))


@check
def raw_bodies(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("fan_out")
    messages = [m for received in result["received"].values() for m in received]
    if not messages:
        return failed("orders delivered to the queues", "none")
    raw = [m for m in messages if "order_id" in _json(m["body"])]
    enveloped = [m for m in messages if _json(m["body"]).get("Type") == "Notification"]
    return partial(len(raw) / len(messages), "every delivered message to be the bare order "
                   "JSON (raw message delivery), not the SNS envelope",
                   f"{len(raw)} bare, {len(enveloped)} SNS envelopes",
                   example=messages[0]["body"][:300])


# --- step 4: queue policies -------------------------------------------------------------------

def _audit_queue_policy(ctx: CheckContext, suffix: str, service: str, source_arn: str
                        ) -> tuple[bool, str, dict[str, Any]]:
    """(exactly right, finding, evidence) for "only `service` on behalf of `source_arn`
    may send to the queue", read with IAM semantics (every statement, Deny over Allow)."""
    if ctx.queue_url(suffix) is None:
        return False, "no such queue", {}
    try:
        policy = ctx.queue_policy(suffix)
    except PolicyError as exc:
        return False, f"a policy IAM cannot read: {exc}", {}
    if not policy.statements:
        return False, "no queue policy", {}
    allow, deny = source_probes(ctx.queue_arn(suffix), "sqs:SendMessage", service,
                                source_arn, ctx.endpoint.account)
    report = audit([policy], allow, deny)
    return report.ok, ("ok" if report.ok else report.summary()), report.to_evidence()


@check
def topic_only_policies(ctx: CheckContext) -> Outcome:
    topic = _topic_arn(ctx)
    findings: dict[str, str] = {}
    evidence: dict[str, Any] = {}
    right = 0
    for consumer in CONSUMERS:
        ok, finding, seen = _audit_queue_policy(ctx, consumer, "sns.amazonaws.com", topic)
        right += ok
        findings[ctx.name(consumer)] = finding
        evidence[ctx.name(consumer)] = seen
    wrong = {q: f for q, f in findings.items() if f != "ok"}
    shapes = {f.replace(q, "<queue>") for q, f in wrong.items()}
    if len(shapes) == 1 and len(wrong) == len(findings):
        first, finding = next(iter(wrong.items()))
        found = f"the same on all three queues, e.g. `{first}`: {finding}"
    else:
        found = "; ".join(f"`{q}`: {f}" for q, f in wrong.items()) or "all three right"
    return partial(right / len(CONSUMERS), "each queue's policy to allow sqs:SendMessage "
                   f"to sns.amazonaws.com only with aws:SourceArn = {topic}, and nothing "
                   "more", found, findings=findings, audits=evidence,
                   note="LocalStack 4.14 does not enforce queue policies: this is read from "
                        "the policy documents, with IAM's rules")


# --- step 5: EventBridge rule to a queue -------------------------------------------------------

def _rule(ctx: CheckContext, bus: str | None = None) -> dict[str, Any] | None:
    events = ctx.client("events")
    try:
        return dict(events.describe_rule(Name=ctx.name("shipped"),
                                         EventBusName=bus or ctx.name("bus")))
    except events.exceptions.ResourceNotFoundException:
        return None


def _rule_arn(ctx: CheckContext) -> str:
    return (f"arn:aws:events:{ctx.endpoint.region}:{ctx.endpoint.account}:rule/"
            f"{ctx.name('bus')}/{ctx.name('shipped')}")


# (what the event is, source, detail-type, must the rule match it?)
PATTERN_PROBES = [
    ("an OrderShipped event from lab08.warehouse", SHIPPED_SOURCE, SHIPPED_TYPE, True),
    ("an OrderPacked event from lab08.warehouse", SHIPPED_SOURCE, "OrderPacked", False),
    ("an OrderShipped event from lab08.returns", "lab08.returns", SHIPPED_TYPE, False),
    ("an OrderShipped event from lab08.warehouse-eu", SHIPPED_SOURCE + "-eu", SHIPPED_TYPE,
     False),
    ("an OrderShippedLate event from lab08.warehouse", SHIPPED_SOURCE, SHIPPED_TYPE + "Late",
     False),
]


def _pattern_findings(ctx: CheckContext, pattern: str) -> list[str]:
    """What the rule's pattern gets wrong, probed with EventBridge's own matcher."""
    events = ctx.client("events")
    wrong = []
    for label, source, detail_type, want in PATTERN_PROBES:
        event = {"id": str(uuid.uuid4()), "account": ctx.endpoint.account, "source": source,
                 "time": "2026-01-01T00:00:00Z", "region": ctx.endpoint.region,
                 "resources": [], "detail-type": detail_type,
                 "detail": {"order_id": "o-1", "carrier": "UPS"}}
        try:
            got = bool(events.test_event_pattern(EventPattern=pattern,
                                                 Event=json.dumps(event))["Result"])
        except events.exceptions.InvalidEventPatternException as exc:
            return [f"an event pattern EventBridge cannot read ({exc})"]
        if got != want:
            wrong.append(("it does not match " if want else "it also matches ") + label)
    return wrong


@check
def rule_config(ctx: CheckContext) -> Outcome:
    expected = (f"a rule `{ctx.name('shipped')}` on `{ctx.name('bus')}` matching exactly "
                f"source {SHIPPED_SOURCE} and detail-type {SHIPPED_TYPE}, enabled, with "
                f"the target `{ctx.name('shipped-events')}`, and a queue policy that admits "
                "events.amazonaws.com from this rule only")
    rule = _rule(ctx)
    if rule is None:
        if _rule(ctx, "default") is not None:
            return failed(expected, f"a rule `{ctx.name('shipped')}` on the default bus: a "
                          f"rule belongs to one bus, and events put on `{ctx.name('bus')}` "
                          "never reach it (name the bus with EventBusName)")
        return failed(expected, "no such rule (or no such bus)")
    pattern_text = str(rule.get("EventPattern") or "")
    pattern_wrong = (_pattern_findings(ctx, pattern_text) if pattern_text
                     else ["no event pattern"])
    targets = ctx.client("events").list_targets_by_rule(
        Rule=ctx.name("shipped"), EventBusName=ctx.name("bus")).get("Targets", [])
    target_arns = [t["Arn"] for t in targets]
    want_target = ctx.queue_arn("shipped-events")
    policy_ok, policy_finding, audited = _audit_queue_policy(
        ctx, "shipped-events", "events.amazonaws.com", _rule_arn(ctx))
    parts = {"pattern": not pattern_wrong, "target": want_target in target_arns,
             "enabled": rule.get("State") == "ENABLED", "policy": policy_ok}
    said = []
    if pattern_wrong:
        said.append("pattern: " + "; ".join(pattern_wrong))
    if not parts["target"]:
        said.append(f"targets {target_arns or 'none'}")
    if not parts["enabled"]:
        said.append(f"state {rule.get('State')}")
    if not policy_ok:
        said.append(f"queue policy: {policy_finding}")
    return partial(sum(parts.values()) / len(parts), expected,
                   "; ".join(said) or "all of it", pattern=_json(pattern_text),
                   targets=target_arns, policy_audit=audited)


@scenario(timeout=30)
def route_events(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx, "shipped-events")
    if _rule(ctx) is None:
        raise ScenarioFailed(f"the rule `{ctx.name('shipped')}` on `{ctx.name('bus')}` does "
                             "not exist" + (" (there is one on the default bus: a rule belongs "
                                            "to one bus; name the bus with EventBusName)"
                                            if _rule(ctx, "default") else ""),
                             fix="create it in infra.py and run `python infra.py`")
    ctx.client("sqs").purge_queue(QueueUrl=url)
    run = uuid.uuid4().hex[:8]
    bus = ctx.name("bus")
    sent = [  # (label, bus, source, detail-type) — only "match-*" may arrive
        ("match-1", bus, SHIPPED_SOURCE, SHIPPED_TYPE),
        ("match-2", bus, SHIPPED_SOURCE, SHIPPED_TYPE),
        ("match-3", bus, SHIPPED_SOURCE, SHIPPED_TYPE),
        ("other-type", bus, SHIPPED_SOURCE, "OrderPacked"),
        ("other-source", bus, "lab08.returns", SHIPPED_TYPE),
        ("default-bus", "default", SHIPPED_SOURCE, SHIPPED_TYPE),
    ]
    response = ctx.client("events").put_events(Entries=[
        {"EventBusName": b, "Source": s, "DetailType": t,
         "Detail": json.dumps({"run": run, "label": label})} for label, b, s, t in sent])
    received = _drain(ctx, url, timeout=8, quiet=1.5)
    labels = []
    for m in received:
        detail = _json(m["body"]).get("detail", {})
        if isinstance(detail, dict) and detail.get("run") == run:
            labels.append(str(detail.get("label")))
    return {"run": run, "failed_entries": response.get("FailedEntryCount", 0),
            "labels": labels, "example": received[0]["body"] if received else ""}


@check
def routed_events(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("route_events")
    labels = result["labels"]
    want = {"match-1", "match-2", "match-3"}
    got = set(labels)
    extra = sorted(got - want)
    missing = sorted(want - got)
    if not labels:
        return failed("the 3 matching events in the queue", "no event",
                      failed_entries=result["failed_entries"])
    score = max(0.0, len(want & got) - len(extra) - (len(labels) - len(got))) / len(want)
    if score >= 1.0:
        return passed("only the 3 OrderShipped events from lab08.warehouse on lab08-bus",
                      f"exactly those: {sorted(labels)}", example=result["example"])
    return partial(score, "only the 3 OrderShipped events from lab08.warehouse on lab08-bus",
                   f"{sorted(labels)}" + (f"; unwanted {extra}" if extra else "")
                   + (f"; missing {missing}" if missing else ""), example=result["example"])

