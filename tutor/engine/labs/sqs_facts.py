"""What a queue's configuration means, read the way SQS reads it.

Shared by the built-in checks (builtins.py) and by labs' own checks and scenarios, so that
every lab parses a redrive policy, a redrive-allow policy and a receive count alike: a
value written with the AWS CLI (`"maxReceiveCount": "3"`), with boto3 (`3`) or by hand in
JSON is the same value, and a malformed one is named, never a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tutor.engine.labs.context import CheckContext
from tutor.engine.labs.scenario import ScenarioFailed

__all__ = [
    "RedrivePolicy",
    "json_attribute",
    "number_attribute",
    "read_redrive_policy",
    "receive_count",
    "redrive_refusal",
    "require_redrive",
]


def json_attribute(raw: str | None) -> tuple[dict[str, Any] | None, str]:
    """(the JSON object an attribute holds, or None; why not, in the learner's terms)."""
    if not raw:
        return None, "none"
    try:
        value = json.loads(raw)
    except ValueError:
        return None, f"a value that is not JSON: {raw[:60]!r}"
    if not isinstance(value, dict):
        return None, f"a JSON {type(value).__name__}, not an object: {raw[:60]!r}"
    return value, ""


def receive_count(value: Any) -> int | None:
    """maxReceiveCount as SQS reads it: a whole number or a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def number_attribute(attrs: dict[str, str], name: str, default: float) -> float | None:
    """A numeric queue attribute (absent: SQS's default); None when it is not a number."""
    raw = attrs.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class RedrivePolicy:
    """A source queue's redrive policy, parsed; `problem` says why it is unusable."""

    queue: str  # the source queue's full name
    document: dict[str, Any] | None
    problem: str  # "" when the policy can be read; else what is wrong, in words
    target: str  # deadLetterTargetArn as written ("" when absent)
    receives: int | None  # maxReceiveCount as SQS reads it, None when unusable

    @property
    def usable(self) -> bool:
        return not self.problem and self.receives is not None and bool(self.target)


def read_redrive_policy(ctx: CheckContext, queue: str) -> RedrivePolicy | None:
    """The redrive policy of the queue `queue` (a lab suffix); None when there is no queue."""
    attrs = ctx.queue_attributes(queue)
    name = ctx.name(queue)
    if attrs is None:
        return None
    document, why = json_attribute(attrs.get("RedrivePolicy"))
    if document is None:
        problem = "no redrive policy" if why == "none" else f"a RedrivePolicy that is {why}"
        return RedrivePolicy(name, None, problem, "", None)
    target = document.get("deadLetterTargetArn")
    return RedrivePolicy(name, document, "", target if isinstance(target, str) else "",
                         receive_count(document.get("maxReceiveCount")))


def require_redrive(ctx: CheckContext, queue: str, *, fix: str = "finish step 1 first"
                    ) -> tuple[int, float]:
    """(maxReceiveCount, visibility timeout) of `queue` for a scenario that needs its
    dead-lettering; fails the scenario, with `fix`, when there is none to use."""
    policy = read_redrive_policy(ctx, queue)
    if policy is None:
        raise ScenarioFailed(f"the queue `{ctx.name(queue)}` does not exist",
                             fix="run `python infra.py` in your workspace")
    if not policy.usable or not policy.receives:
        raise ScenarioFailed(f"`{policy.queue}` has no usable redrive policy "
                             f"({policy.problem or 'no maxReceiveCount or target'}): a poison "
                             "message would be retried until its retention ends", fix=fix)
    attrs = ctx.queue_attributes(queue) or {}
    visibility = number_attribute(attrs, "VisibilityTimeout", 30.0)
    return policy.receives, 30.0 if visibility is None else visibility


def redrive_refusal(ctx: CheckContext, dlq: str, source: str) -> str:
    """Why the DLQ's RedriveAllowPolicy would refuse `source` as a source queue ("" when
    it admits it: no policy, allowAll, or byQueue listing the source's ARN)."""
    attrs = ctx.queue_attributes(dlq) or {}
    allow, why = json_attribute(attrs.get("RedriveAllowPolicy"))
    if allow is None:
        return "" if why == "none" else f"the DLQ's RedriveAllowPolicy is {why}"
    permission = allow.get("redrivePermission")
    if permission == "denyAll":
        return (f"the DLQ's RedriveAllowPolicy is denyAll: no queue may use it, not even "
                f"`{ctx.name(source)}`")
    if permission == "byQueue":
        sources = allow.get("sourceQueueArns", [])
        if not isinstance(sources, list) or ctx.queue_arn(source) not in sources:
            return (f"the DLQ's RedriveAllowPolicy (byQueue) does not list "
                    f"`{ctx.name(source)}` among its sourceQueueArns")
    elif permission != "allowAll":
        return (f"the DLQ's RedriveAllowPolicy has redrivePermission {permission!r} (SQS "
                "knows allowAll, denyAll and byQueue, spelled so)")
    return ""
