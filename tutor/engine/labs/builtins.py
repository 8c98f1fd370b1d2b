"""Built-in checks a lab.yaml can name without writing them: `check: builtin.<name>`.

Every SQS lab checks the same few facts of its queues: that a queue exists, that an
attribute lies within what the step allows (often stated with the lab clock), that a
redrive policy targets the DLQ with a sensible maxReceiveCount, that the DLQ admits only
its source, that the DLQ keeps messages longer than its source. Written once here, each
reads the value the way SQS does (a CLI-written `"3"` and a boto3 `3` are the same; a
queue URL where an ARN belongs is named as such) and every lab says the same thing about
the same mistake. A lab's own `checks.py` can call these functions too, to add to them.

The parameters each takes are a pydantic model below; the loader validates them, and the
clock names they use, when the lab loads, so a typo is a content error, not a crash at
check time. Bounds are a number of seconds, a lab clock name (`visibility_timeout`) or a
multiple of one (`2 * processing_time`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tutor.engine.labs.checks import CheckFn
from tutor.engine.labs.clock import human
from tutor.engine.labs.context import CheckContext
from tutor.engine.labs.outcome import Outcome, expect, failed, partial, passed
from tutor.engine.labs.sqs_facts import (
    json_attribute,
    number_attribute,
    read_redrive_policy,
    redrive_refusal,
)

__all__ = ["BUILTINS", "PREFIX", "Builtin", "builtin_problems", "redrive_outcome"]

PREFIX = "builtin."
_CLOCK_TEXT = re.compile(r"\{clock:([a-z][a-z0-9_]*)\}")
_BOUND = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*\*\s*)?([a-z][a-z0-9_]*)\s*$")
# SQS's defaults, for an attribute a queue was created without.
DEFAULTS = {"VisibilityTimeout": 30.0, "ReceiveMessageWaitTimeSeconds": 0.0,
            "MessageRetentionPeriod": 345600.0, "DelaySeconds": 0.0,
            "MaximumMessageSize": 262144.0}

Bound = float | str


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def clock_names(self) -> list[str]:
        return []


class QueueParams(_Params):
    queue: str = Field(min_length=1)


class AttributeParams(_Params):
    queue: str = Field(min_length=1)
    attribute: str = Field(pattern=r"^[A-Z][A-Za-z]+$")
    default: float | None = None  # None: SQS's default for the attribute
    above: Bound | None = None  # exclusive lower bound
    min: Bound | None = None
    max: Bound | None = None
    equals: Bound | None = None
    # What the step asks, in words: {queue} {low} {high} {equals} fill in, and
    # {clock:name} the clock's "lab value = production value" line.
    want: str = ""
    below: str = ""  # what a value under the lower bound does; {value} fills in
    over: str = ""  # what a value over the upper bound does
    otherwise: str = ""  # what a value within the bounds but not `equals` does
    at_default: str = ""  # added when the value is SQS's default (was it set at all?)

    @model_validator(mode="after")
    def _some_bound(self) -> AttributeParams:
        if all(b is None for b in (self.above, self.min, self.max, self.equals)):
            raise ValueError("give at least one of above, min, max, equals")
        return self

    def clock_names(self) -> list[str]:
        texts = (self.want, self.below, self.over, self.otherwise, self.at_default)
        return [_parse_bound(b)[1] for b in (self.above, self.min, self.max, self.equals)
                if isinstance(b, str)] + [n for t in texts for n in _CLOCK_TEXT.findall(t)]


class RedriveParams(_Params):
    queue: str = Field(min_length=1)
    dlq: str = Field(min_length=1)
    min_receives: int = Field(default=2, ge=1, le=1000)
    max_receives: int = Field(default=5, ge=1, le=1000)
    low_means: str = ""  # what too few receives do; default: a transient failure is lost
    high_means: str = ""  # what too many do; default: a poison message holds a consumer

    @model_validator(mode="after")
    def _ordered(self) -> RedriveParams:
        if self.min_receives > self.max_receives:
            raise ValueError("min_receives is above max_receives")
        return self


class RedriveAllowParams(_Params):
    dlq: str = Field(min_length=1)
    sources: list[str] = Field(min_length=1)


class RetentionParams(_Params):
    queue: str = Field(min_length=1)
    dlq: str = Field(min_length=1)


@dataclass(frozen=True)
class Builtin:
    check: CheckFn
    params: type[_Params]


def _parse_bound(value: str) -> tuple[float, str]:
    match = _BOUND.match(value)
    if match is None:
        raise ValueError(f"`{value}` is not a number, a clock name or `N * clock_name`")
    return float(match.group(1) or 1), match.group(2)


def _seconds(ctx: CheckContext, bound: Bound | None) -> float | None:
    if bound is None or isinstance(bound, int | float):
        return bound
    factor, name = _parse_bound(bound)
    return factor * ctx.clock.seconds(name)


def _fill(text: str, ctx: CheckContext | None = None, **values: Any) -> str:
    out = text if ctx is None else _CLOCK_TEXT.sub(
        lambda m: ctx.clock.explain(m.group(1)), text)
    for key, value in values.items():
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        out = out.replace("{" + key + "}", shown)
    return out


def _queue_exists(ctx: CheckContext) -> Outcome:
    p = QueueParams(**ctx.params)
    attrs = ctx.queue_attributes(p.queue)
    want = f"the queue `{ctx.name(p.queue)}` to exist"
    if attrs is None:
        return failed(want, "no such queue (run `python infra.py` in your workspace)")
    return passed(want, "it exists", queue_arn=attrs.get("QueueArn"))


def _range_words(low: float | None, strict: bool, high: float | None,
                 equals: float | None) -> str:
    if equals is not None:
        return f"{equals:g} s"
    if low is not None and high is not None:
        return f"{'above ' if strict else ''}{low:g} to {high:g} s"
    if low is not None:
        return f"{'above' if strict else 'at least'} {low:g} s"
    return f"at most {high:g} s"


def _queue_attribute(ctx: CheckContext) -> Outcome:
    p = AttributeParams(**ctx.params)
    strict = p.above is not None
    low = _seconds(ctx, p.above if strict else p.min)
    high, equals = _seconds(ctx, p.max), _seconds(ctx, p.equals)
    name = ctx.name(p.queue)
    bounds = {"queue": f"`{name}`", "low": low if low is not None else "",
              "high": high if high is not None else "",
              "equals": equals if equals is not None else ""}
    want = _fill(p.want, ctx, **bounds) or (f"`{name}` with {p.attribute} "
                                       f"{_range_words(low, strict, high, equals)}")
    attrs = ctx.queue_attributes(p.queue)
    if attrs is None:
        return failed(want, f"no queue `{name}`")
    default = p.default if p.default is not None else DEFAULTS.get(p.attribute, 0.0)
    value = number_attribute(attrs, p.attribute, default)
    if value is None:
        return failed(want, f"{p.attribute}={attrs.get(p.attribute)!r}, not a number")
    found = f"{p.attribute}={value:g} s"
    evidence = {p.attribute: value, "queue": name}
    too_low = low is not None and (value <= low if strict else value < low)
    too_high = high is not None and value > high
    off = equals is not None and value != equals
    said = p.below if too_low else p.over if too_high else p.otherwise if off else ""
    if said:
        found += ": " + _fill(said, ctx, value=value, **bounds)
    if (too_low or too_high or off) and value == default and p.at_default:
        found += " " + _fill(p.at_default, ctx, value=value, **bounds)
    return expect(not (too_low or too_high or off), want, found, **evidence)


def redrive_outcome(ctx: CheckContext, queue: str, dlq: str, low: int, high: int, *,
                    low_means: str = "", high_means: str = "") -> Outcome:
    """The redrive policy of `queue`, scored: half for a target that is the existing DLQ
    `dlq` (by ARN), half for low <= maxReceiveCount <= high."""
    count_words = f"{low}" if low == high else f"{low} to {high}"
    want = (f"`{ctx.name(queue)}` to dead-letter to the existing queue `{ctx.name(dlq)}` "
            f"(by its ARN) after maxReceiveCount {count_words} receives")
    policy = read_redrive_policy(ctx, queue)
    if policy is None:
        return failed(want, f"no queue `{ctx.name(queue)}`")
    if policy.document is None:
        return failed(want, policy.problem)
    dlq_arn, target = ctx.queue_arn(dlq), policy.target
    target_ok = target == dlq_arn and ctx.queue_url(dlq) is not None
    if target == dlq_arn and not target_ok:
        found = f"the target `{ctx.name(dlq)}`, which does not exist (create the DLQ)"
    elif target_ok:
        found = "the DLQ as target"
    elif not target:
        found = "no deadLetterTargetArn"
    elif target.startswith("http"):
        found = f"the target `{target}`, a queue URL: deadLetterTargetArn takes the DLQ's ARN"
    elif ctx.name(queue).endswith(".fifo") and not target.endswith(".fifo"):
        found = (f"the target `{target}`, a standard queue: a FIFO queue needs a FIFO DLQ "
                 f"(`{ctx.name(dlq)}`)")
    else:
        found = f"the target `{target}`, not `{dlq_arn}`"
    count = policy.receives
    written = (policy.document or {}).get("maxReceiveCount", "missing")
    found += f" and maxReceiveCount {written!s}"
    if count is None:
        found += " (not a whole number)"
    elif count < low:
        found += " (" + (_fill(low_means, count=count) or (
            "1 receive means no retry at all for a message that failed once by bad luck"
            if count == 1 else f"only {count} receives: a transient failure that lasts a "
            "little longer sends a good message to the DLQ")) + ")"
    elif count > high:
        found += " (" + (_fill(high_means, count=count) or (
            f"a poison message is received {count} times before it is set aside, holding "
            "a consumer each time")) + ")"
    if count is not None and not low <= count <= high:
        found += f"; the step asks for {count_words}"
    count_ok = count is not None and low <= count <= high
    return partial((0.5 if target_ok else 0) + (0.5 if count_ok else 0), want, found,
                   redrive_policy=policy.document)


def _redrive_policy(ctx: CheckContext) -> Outcome:
    p = RedriveParams(**ctx.params)
    return redrive_outcome(ctx, p.queue, p.dlq, p.min_receives, p.max_receives,
                           low_means=p.low_means, high_means=p.high_means)


def _redrive_allow(ctx: CheckContext) -> Outcome:
    p = RedriveAllowParams(**ctx.params)
    arns = {ctx.queue_arn(s): ctx.name(s) for s in p.sources}
    listed = ", ".join(f"`{n}`" for n in arns.values())
    want = (f"the DLQ `{ctx.name(p.dlq)}` to admit only {listed} as a source "
            f"(RedriveAllowPolicy: redrivePermission byQueue, sourceQueueArns "
            f"[{', '.join(arns)}])")
    attrs = ctx.queue_attributes(p.dlq)
    if attrs is None:
        return failed(want, f"no queue `{ctx.name(p.dlq)}`")
    policy, why = json_attribute(attrs.get("RedriveAllowPolicy"))
    if policy is None:
        return failed(want, "no RedriveAllowPolicy (any queue of the account may use it as "
                      "its DLQ)" if why == "none" else f"RedriveAllowPolicy {why}")
    evidence = {"redrive_allow_policy": policy}
    permission = policy.get("redrivePermission")
    if permission == "allowAll":
        return failed(want, "redrivePermission allowAll: any queue of the account may use "
                      "it as its DLQ", **evidence)
    refused = [f"`{name}`" for source, name in zip(p.sources, arns.values(), strict=True)
               if redrive_refusal(ctx, p.dlq, source)]
    if permission == "denyAll":
        return failed(want, f"redrivePermission denyAll: no queue may use it, not even "
                      f"{listed}", **evidence)
    if permission != "byQueue":
        return failed(want, f"redrivePermission {permission!r} (SQS knows allowAll, denyAll "
                      "and byQueue, spelled so)", **evidence)
    sources = policy.get("sourceQueueArns", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        return failed(want, f"sourceQueueArns {sources!r}: it takes a JSON list of queue "
                      "ARNs", **evidence)
    urls = [s for s in sources if s.startswith("http")]
    if urls:
        return failed(want, f"sourceQueueArns lists queue URLs ({urls[0]}): it takes ARNs",
                      **evidence)
    if refused:
        return failed(want, f"sourceQueueArns {sorted(sources) or '[]'}, without "
                      f"{', '.join(refused)} (its redrive policy would be refused)",
                      **evidence)
    others = sorted(set(sources) - set(arns))
    if others:
        return failed(want, f"sourceQueueArns that also admit {', '.join(others)}",
                      **evidence)
    return passed(want, f"byQueue with only {listed}", **evidence)


def _dlq_retention(ctx: CheckContext) -> Outcome:
    p = RetentionParams(**ctx.params)
    want = (f"the DLQ `{ctx.name(p.dlq)}` to keep messages longer than `{ctx.name(p.queue)}` "
            "(MessageRetentionPeriod)")
    source, dlq = ctx.queue_attributes(p.queue), ctx.queue_attributes(p.dlq)
    if source is None or dlq is None:
        return failed(want, f"no queue `{ctx.name(p.queue if source is None else p.dlq)}`")
    default = DEFAULTS["MessageRetentionPeriod"]
    s = number_attribute(source, "MessageRetentionPeriod", default) or default
    d = number_attribute(dlq, "MessageRetentionPeriod", default) or default
    found = f"source {human(s)}, DLQ {human(d)}"
    if d <= s:
        when = "even sooner than" if d < s else "as soon as"
        found += (": a dead letter keeps its original enqueue time, so it would expire "
                  f"from the DLQ {when} it would have from the source")
    return expect(d > s, want, found, source=s, dlq=d)


def _builtin(name: str, fn: Callable[[CheckContext], Outcome], params: type[_Params]
             ) -> tuple[str, Builtin]:
    return PREFIX + name, Builtin(CheckFn(PREFIX + name, fn, 5.0), params)


BUILTINS: dict[str, Builtin] = dict([
    _builtin("queue_exists", _queue_exists, QueueParams),
    _builtin("queue_attribute", _queue_attribute, AttributeParams),
    _builtin("redrive_policy", _redrive_policy, RedriveParams),
    _builtin("redrive_allow", _redrive_allow, RedriveAllowParams),
    _builtin("dlq_retention", _dlq_retention, RetentionParams),
])


def builtin_problems(name: str, params: dict[str, Any], clock: set[str]) -> list[str]:
    """Why `params` cannot drive the built-in check `name` ([] when they can)."""
    try:
        model = BUILTINS[name].params(**params)
        names = model.clock_names()
    except (ValidationError, ValueError) as exc:
        errors = exc.errors() if isinstance(exc, ValidationError) else []
        if errors:
            return [f"`params.{'.'.join(str(x) for x in e['loc']) or '(all)'}`: {e['msg']}"
                    for e in errors]
        return [f"`params`: {exc}"]
    return [f"`params`: `{n}` is not in the lab's `clock:` ({', '.join(sorted(clock))})"
            for n in names if n not in clock]
