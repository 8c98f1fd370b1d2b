"""The built-in checks (`check: builtin.<name>` in lab.yaml) against real LocalStack
queues: a right configuration passes however it was written (boto3 numbers, the AWS CLI's
strings), and each wrong one fails with words that name the mistake."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.builtins import BUILTINS, builtin_problems, redrive_outcome
from tutor.engine.labs.checks import CheckContext, Outcome
from tutor.engine.labs.clock import LabClock
from tutor.engine.labs.model import ClockEntry
from tutor.engine.labs.scenario import ScenarioRunner

CLOCK = LabClock({"visibility_timeout": ClockEntry(lab_seconds=5, production_seconds=300),
                  "processing_time": ClockEntry(lab_seconds=2, production_seconds=120),
                  "long_poll_wait": ClockEntry(lab_seconds=2, production_seconds=20)})


@pytest.fixture
def ctx(localstack: Endpoint, tmp_path: Path) -> CheckContext:
    prefix = f"tb{uuid.uuid4().hex[:6]}-"
    return CheckContext("00-builtins", prefix, localstack, tmp_path, CLOCK,
                        ScenarioRunner("00-builtins", prefix, localstack, tmp_path))


def _queue(ctx: CheckContext, suffix: str, **attributes: Any) -> str:
    attrs = {k: v if isinstance(v, str) else json.dumps(v) if isinstance(v, dict)
             else str(v) for k, v in attributes.items()}
    return str(ctx.client("sqs").create_queue(QueueName=ctx.name(suffix),
                                              Attributes=attrs)["QueueUrl"])


def _run(ctx: CheckContext, name: str, **params: Any) -> Outcome:
    assert not builtin_problems("builtin." + name, params, set(CLOCK.entries))
    ctx.params = params
    return BUILTINS["builtin." + name].check.fn(ctx)


def _redrive(ctx: CheckContext, target: str, count: Any) -> dict[str, Any]:
    return {"RedrivePolicy": json.dumps({"deadLetterTargetArn": target,
                                         "maxReceiveCount": count})}


def _words(outcome: Outcome, *words: str) -> None:
    assert not outcome.passed, outcome.message
    for word in words:
        assert word.lower() in outcome.message.lower(), outcome.message


REDRIVE = {"queue": "orders", "dlq": "orders-dlq", "min_receives": 2, "max_receives": 5}


@pytest.mark.parametrize("count", [3, "3", "5", 2])
def test_a_redrive_policy_passes_with_a_number_or_a_string(ctx: CheckContext,
                                                           count: Any) -> None:
    _queue(ctx, "orders-dlq")
    _queue(ctx, "orders", **_redrive(ctx, ctx.queue_arn("orders-dlq"), count))
    outcome = _run(ctx, "redrive_policy", **REDRIVE)
    assert outcome.passed, outcome.message


@pytest.mark.parametrize(("setup", "words"), [
    (lambda ctx: _redrive(ctx, ctx.queue_arn("orders-dlq"), 1), ["maxReceiveCount 1", "no retry"]),
    (lambda ctx: _redrive(ctx, ctx.queue_arn("orders-dlq"), 10),
     ["maxReceiveCount 10", "10 times before it is set aside", "2 to 5"]),
    (lambda ctx: _redrive(ctx, f"{ctx.endpoint.url}/000000000000/{ctx.name('orders-dlq')}", 3),
     ["queue URL", "ARN"]),
    (lambda ctx: _redrive(ctx, ctx.queue_arn("other"), 3), ["not `arn:"]),
    (lambda ctx: {}, ["no redrive policy"]),
])
def test_a_wrong_redrive_policy_fails_with_its_mistake(
        ctx: CheckContext, setup: Callable[[CheckContext], dict[str, str]],
        words: list[str]) -> None:
    _queue(ctx, "orders-dlq")
    _queue(ctx, "other")
    _queue(ctx, "orders", **setup(ctx))
    _words(_run(ctx, "redrive_policy", **REDRIVE), *words)


def test_a_redrive_policy_scores_target_and_count_apart(ctx: CheckContext) -> None:
    _queue(ctx, "orders-dlq")
    _queue(ctx, "orders", **_redrive(ctx, ctx.queue_arn("orders-dlq"), 9))
    assert redrive_outcome(ctx, "orders", "orders-dlq", 2, 5).fraction == 0.5


def test_a_missing_source_queue_is_named(ctx: CheckContext) -> None:
    _words(_run(ctx, "redrive_policy", **REDRIVE), f"no queue `{ctx.name('orders')}`")


def test_an_exact_count_is_asked_for_as_one_number(ctx: CheckContext) -> None:
    _queue(ctx, "orders-dlq")
    _queue(ctx, "orders", **_redrive(ctx, ctx.queue_arn("orders-dlq"), 5))
    _words(redrive_outcome(ctx, "orders", "orders-dlq", 3, 3), "maxReceiveCount 5",
           "asks for 3")


ATTRIBUTE = {"queue": "jobs", "attribute": "ReceiveMessageWaitTimeSeconds", "min": 1,
             "max": 20, "below": "short polling, value {value}"}


@pytest.mark.parametrize(("value", "passes"), [("0", False), ("1", True), ("20", True)])
def test_an_attribute_within_its_bounds(ctx: CheckContext, value: str, passes: bool) -> None:
    _queue(ctx, "jobs", ReceiveMessageWaitTimeSeconds=value)
    outcome = _run(ctx, "queue_attribute", **ATTRIBUTE)
    assert outcome.passed is passes, outcome.message
    if not passes:
        _words(outcome, "ReceiveMessageWaitTimeSeconds=0 s", "short polling, value 0")


def test_an_attribute_never_set_is_read_as_its_default(ctx: CheckContext) -> None:
    _queue(ctx, "jobs")
    outcome = _run(ctx, "queue_attribute", queue="jobs", attribute="VisibilityTimeout",
                   equals="visibility_timeout", otherwise="waits {value} s",
                   want="{queue} at {equals} s ({clock:visibility_timeout})",
                   at_default="(30 s is the default)")
    _words(outcome, "VisibilityTimeout=30 s: waits 30 s (30 s is the default)",
           "visibility timeout: 5 s here")


def test_bounds_from_the_lab_clock_and_a_strict_lower_bound(ctx: CheckContext) -> None:
    _queue(ctx, "jobs", VisibilityTimeout="4")
    params = {"queue": "jobs", "attribute": "VisibilityTimeout", "min": "2 * processing_time",
              "max": 10, "below": "no margin"}
    assert _run(ctx, "queue_attribute", **params).passed  # 4 >= 2 x 2 s
    strict = {**params, "above": params.pop("min")}
    _words(_run(ctx, "queue_attribute", **strict), "VisibilityTimeout=4 s: no margin")


ALLOW = {"dlq": "orders-dlq", "sources": ["orders"]}


def _allow(ctx: CheckContext, permission: str, *sources: str) -> dict[str, Any]:
    policy: dict[str, Any] = {"redrivePermission": permission}
    if sources:
        policy["sourceQueueArns"] = list(sources)
    return {"RedriveAllowPolicy": json.dumps(policy)}


def test_a_redrive_allow_policy_admitting_only_the_source_passes(ctx: CheckContext) -> None:
    _queue(ctx, "orders-dlq", **_allow(ctx, "byQueue", ctx.queue_arn("orders")))
    assert _run(ctx, "redrive_allow", **ALLOW).passed


@pytest.mark.parametrize(("setup", "words"), [
    (lambda ctx: _allow(ctx, "allowAll"), ["allowAll", "any queue"]),
    (lambda ctx: _allow(ctx, "denyAll"), ["denyAll", "not even"]),
    (lambda ctx: _allow(ctx, "byQueue", ctx.queue_arn("orders"), ctx.queue_arn("other")),
     ["also admit", "other"]),
    (lambda ctx: _allow(ctx, "byQueue", ctx.queue_arn("other")), ["without", "refused"]),
    (lambda ctx: _allow(ctx, "byQueue", f"{ctx.endpoint.url}/000000000000/x"), ["queue URLs"]),
    (lambda ctx: {}, ["no RedriveAllowPolicy", "any queue"]),
])
def test_a_wrong_redrive_allow_policy_fails_with_its_mistake(
        ctx: CheckContext, setup: Callable[[CheckContext], dict[str, str]],
        words: list[str]) -> None:
    _queue(ctx, "orders-dlq", **setup(ctx))
    _words(_run(ctx, "redrive_allow", **ALLOW), *words)


def test_a_dlq_must_outlive_its_source(ctx: CheckContext) -> None:
    _queue(ctx, "orders")
    _queue(ctx, "orders-dlq")
    _words(_run(ctx, "dlq_retention", queue="orders", dlq="orders-dlq"),
           "source 4 days, DLQ 4 days", "expire")
    ctx.client("sqs").set_queue_attributes(QueueUrl=ctx.queue_url("orders-dlq"),
                                           Attributes={"MessageRetentionPeriod": "1209600"})
    assert _run(ctx, "dlq_retention", queue="orders", dlq="orders-dlq").passed


def test_queue_exists(ctx: CheckContext) -> None:
    _words(_run(ctx, "queue_exists", queue="orders"), "no such queue", "infra.py")
    _queue(ctx, "orders")
    assert _run(ctx, "queue_exists", queue="orders").passed


@pytest.mark.parametrize(("name", "params", "says"), [
    ("builtin.queue_attribute", {"queue": "q", "attribute": "VisibilityTimeout",
                                 "minimum": 1}, "params.minimum"),
    ("builtin.queue_attribute", {"queue": "q", "attribute": "VisibilityTimeout"},
     "at least one of"),
    ("builtin.queue_attribute", {"queue": "q", "attribute": "VisibilityTimeout",
                                 "min": "2 * procesing_time"}, "`procesing_time` is not"),
    ("builtin.queue_attribute", {"queue": "q", "attribute": "VisibilityTimeout",
                                 "min": "twice processing"}, "not a number, a clock name"),
    ("builtin.queue_attribute", {"queue": "q", "attribute": "VisibilityTimeout", "max": 9,
                                 "want": "{clock:nope}"}, "`nope` is not"),
    ("builtin.redrive_policy", {"queue": "q", "dlq": "d", "min_receives": 6,
                                "max_receives": 5}, "min_receives is above"),
    ("builtin.redrive_allow", {"dlq": "d", "sources": []}, "params.sources"),
])
def test_bad_params_are_content_errors(name: str, params: dict[str, Any], says: str) -> None:
    problems = builtin_problems(name, params, set(CLOCK.entries))
    assert any(says in p for p in problems), problems
