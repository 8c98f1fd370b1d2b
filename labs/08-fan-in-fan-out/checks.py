"""Checks for lab 08: fan-in (many producers, one queue) and fan-out (SNS, EventBridge)."""

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
    failed,
    partial,
    passed,
    scenario,
)

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
            found.append({"body": message["Body"],
                          "attributes": {k: v.get("StringValue") for k, v in
                                         message.get("MessageAttributes", {}).items()}})
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

@scenario(timeout=60)
def fan_in(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx, "logs")
    ctx.client("sqs").purge_queue(QueueUrl=url)
    run = uuid.uuid4().hex[:8]
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
            raise ScenarioFailed(f"`log_producer.py` exited with code {program.returncode}",
                                 program.output(), fix="run it yourself to see the error")
    calls: Counter[str] = Counter()
    for program in programs:
        calls.update(program.api_calls("sqs"))
    messages = [m for m in _drain(ctx, url, timeout=15)
                if _json(m["body"]).get("run") == run]
    return {"run": run, "calls": dict(calls), "messages": messages}


@check
def every_log_event(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("fan_in")
    per_source: dict[str, set[int]] = {s: set() for s in SOURCES}
    copies = Counter()
    for m in result["messages"]:
        body = _json(m["body"])
        if body.get("source") in per_source:
            per_source[body["source"]].add(int(body.get("seq", -1)))
            copies[(body["source"], body.get("seq"))] += 1
    counts = {s: len(seqs) for s, seqs in per_source.items()}
    total = sum(counts.values())
    want = EVENTS_PER_SOURCE * len(SOURCES)
    return partial(total / want, f"{EVENTS_PER_SOURCE} events from each of "
                   f"{', '.join(SOURCES)} in `{ctx.name('logs')}`",
                   ", ".join(f"{s}: {n}" for s, n in counts.items()), per_source=counts,
                   messages=len(result["messages"]),
                   duplicates=sum(1 for n in copies.values() if n > 1))


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
    calls = ctx.scenario("fan_in")["calls"]
    single = calls.get("SendMessage", 0)
    batches = calls.get("SendMessageBatch", 0)
    events = EVENTS_PER_SOURCE * len(SOURCES)
    best = events // 10
    sends = single + batches
    if sends == 0:
        return failed("the producers to send their events", "no send call", calls=calls)
    return partial(min(1.0, best / sends), f"about {best} send calls for {events} events "
                   "(SendMessageBatch, 10 per call)",
                   f"{single} SendMessage and {batches} SendMessageBatch calls", calls=calls)


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
    return {"run": run, "received": received, "output": program.output(5)}


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
    return _consumer_outcome(ctx, "billing", "every order")


@check
def shipping_physical(ctx: CheckContext) -> Outcome:
    return _consumer_outcome(ctx, "shipping", "only physical orders")


@check
def audit_high_value(ctx: CheckContext) -> Outcome:
    return _consumer_outcome(ctx, "audit", "only orders with amount >= 1000")


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

def _policy_allows_only(policy_text: str | None, queue_arn: str, service: str,
                        source_arn: str) -> tuple[float, str]:
    """(score 0..1, finding) for a queue policy that must admit `service` from `source_arn` only."""
    if not policy_text:
        return 0.0, "no policy"
    policy = _json(policy_text)
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    allows = [s for s in statements if isinstance(s, dict) and s.get("Effect") == "Allow"]
    mine = []
    for s in allows:
        principal = s.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        actions = s.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if service in services and any(a in ("sqs:SendMessage", "sqs:*") for a in actions):
            mine.append(s)
    open_to_all = [s for s in allows if s.get("Principal") in ("*", {"AWS": "*"})
                   and not s.get("Condition")]
    if open_to_all:
        return 0.0, "a statement allows everyone (Principal *) without a condition"
    if not mine:
        return 0.25, f"a policy, but no statement allowing {service} to sqs:SendMessage"
    for s in mine:
        condition = s.get("Condition", {})
        for operator in ("ArnEquals", "ArnLike", "StringEquals", "StringLike"):
            value = condition.get(operator, {}).get("aws:SourceArn")
            values = [value] if isinstance(value, str) else (value or [])
            if values == [source_arn]:
                resource = s.get("Resource", queue_arn)
                if resource in (queue_arn, [queue_arn]):
                    return 1.0, f"{service} allowed only from {source_arn}"
                return 0.75, f"the condition is right but Resource is {resource}"
            if values:
                return 0.5, f"aws:SourceArn is {values}, not {source_arn}"
    return 0.5, f"{service} allowed from ANY source (no aws:SourceArn condition)"


@check
def topic_only_policies(ctx: CheckContext) -> Outcome:
    scores = []
    findings = {}
    for consumer in CONSUMERS:
        attrs = ctx.queue_attributes(consumer)
        if attrs is None:
            scores.append(0.0)
            findings[ctx.name(consumer)] = "no such queue"
            continue
        score, finding = _policy_allows_only(attrs.get("Policy"), ctx.queue_arn(consumer),
                                             "sns.amazonaws.com", _topic_arn(ctx))
        scores.append(score)
        findings[ctx.name(consumer)] = finding
    return partial(sum(scores) / len(scores), "each queue's policy to allow sqs:SendMessage "
                   f"to sns.amazonaws.com only with aws:SourceArn = {_topic_arn(ctx)}",
                   "; ".join(f"{q}: {f}" for q, f in findings.items()), findings=findings,
                   note="LocalStack 4.14 does not enforce queue policies: this is read from "
                        "the policy documents")


# --- step 5: EventBridge rule to a queue -------------------------------------------------------

def _rule(ctx: CheckContext) -> dict[str, Any] | None:
    events = ctx.client("events")
    try:
        return dict(events.describe_rule(Name=ctx.name("shipped"), EventBusName=ctx.name("bus")))
    except events.exceptions.ResourceNotFoundException:
        return None


@check
def rule_config(ctx: CheckContext) -> Outcome:
    rule = _rule(ctx)
    if rule is None:
        return failed(f"a rule `{ctx.name('shipped')}` on the event bus `{ctx.name('bus')}`",
                      "no such rule (or no such bus)")
    pattern = _json(rule.get("EventPattern", ""))
    targets = ctx.client("events").list_targets_by_rule(
        Rule=ctx.name("shipped"), EventBusName=ctx.name("bus")).get("Targets", [])
    target_arns = [t["Arn"] for t in targets]
    want_target = ctx.queue_arn("shipped-events")
    parts = {"source": pattern.get("source") == [SHIPPED_SOURCE],
             "detail-type": pattern.get("detail-type") == [SHIPPED_TYPE],
             "target": want_target in target_arns,
             "enabled": rule.get("State") == "ENABLED"}
    attrs = ctx.queue_attributes("shipped-events") or {}
    policy_score, policy_finding = _policy_allows_only(
        attrs.get("Policy"), want_target, "events.amazonaws.com", str(rule.get("Arn")))
    score = (sum(parts.values()) + policy_score) / (len(parts) + 1)
    return partial(score, f"pattern source=[{SHIPPED_SOURCE}] and detail-type=[{SHIPPED_TYPE}],"
                   f" target `{ctx.name('shipped-events')}`, enabled, and a queue policy "
                   "allowing only this rule",
                   ", ".join(f"{k} {'ok' if v else 'wrong'}" for k, v in parts.items())
                   + f"; policy: {policy_finding}", pattern=pattern, targets=target_arns)


@scenario(timeout=30)
def route_events(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx, "shipped-events")
    if _rule(ctx) is None:
        raise ScenarioFailed(f"the rule `{ctx.name('shipped')}` on `{ctx.name('bus')}` does "
                             "not exist", fix="create it in infra.py and run `python infra.py`")
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

