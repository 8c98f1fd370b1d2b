"""IAM policy evaluation: who may do what on which resource, under which condition.

One evaluator for every policy a lab checks (queue policies, topic policies, role
policies, trust policies). It reads the whole document with IAM semantics:

- every statement; an explicit Deny wins over any Allow; no matching Allow is a deny;
- `Action`/`NotAction` with `*` and `?` wildcards, service prefix and action name
  case-insensitive (`SQS:sendmessage` is `sqs:SendMessage`);
- `Resource`/`NotResource` with wildcards (case-sensitive, as ARNs are); a resource
  policy without `Resource` applies to the resource it is attached to;
- `Principal`/`NotPrincipal` in all its forms: `"*"`, `{"AWS": "*"}`, an account id, an
  account root ARN, a role or user ARN, `{"Service": ...}`, `{"Federated": ...}`;
- `Condition` with the String, Arn, Numeric, Date, Bool, IpAddress and Null operators,
  their `IfExists` forms and the `ForAnyValue:`/`ForAllValues:` qualifiers; condition key
  names are case-insensitive (`AWS:SourceArn` is `aws:SourceArn`), a missing key fails a
  positive operator and satisfies a negated one (`StringNotEquals`...).

Checks ask questions with `audit(policies, must_allow=[...], must_deny=[...])`: "is access
exactly what the step asked for, and no wider?". The answer names the statement that
grants too much, in words a learner reads (`statement 2 (Sid "Open") allows any principal
to sqs:SendMessage with no condition`).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

ContextValue = str | int | float | bool | Sequence[str]


class PolicyError(ValueError):
    """The document is not a policy the tutor (or IAM) can read."""


# --- principals and requests ---------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who makes a request: an AWS principal (ARN), a service, a federated user, or nobody."""

    kind: str  # "AWS" | "Service" | "Federated" | "CanonicalUser" | "Anonymous"
    id: str = ""

    @classmethod
    def service(cls, name: str) -> Principal:
        return cls("Service", name)

    @classmethod
    def account(cls, account: str) -> Principal:
        """Any principal of `account` (its root user stands for them all)."""
        return cls("AWS", f"arn:aws:iam::{account}:root")

    @classmethod
    def arn(cls, arn: str) -> Principal:
        return cls("AWS", arn)

    @classmethod
    def anonymous(cls) -> Principal:
        return cls("Anonymous")

    @property
    def account_id(self) -> str:
        if self.kind != "AWS":
            return ""
        parts = self.id.split(":")
        return parts[4] if len(parts) > 4 else ""

    def describe(self) -> str:
        if self.kind == "Anonymous":
            return "an anonymous caller"
        if self.kind == "Service":
            return f"the service {self.id}"
        if self.kind == "AWS" and self.id.endswith(":root"):
            return f"account {self.account_id}"
        return self.id


@dataclass(frozen=True)
class Request:
    """One request to evaluate: principal (None for identity policies), action, resource."""

    action: str
    resource: str
    principal: Principal | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    label: str = ""  # how a check names it to the learner ("sns from another topic")

    def describe(self) -> str:
        if self.label:
            return self.label
        who = f"{self.principal.describe()} " if self.principal else ""
        keys = ", ".join(f"{k}={v}" for k, v in self.context.items())
        return f"{who}{self.action} on {self.resource}" + (f" ({keys})" if keys else
                                                            " (no condition keys)")


# --- matching helpers ----------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts) + r"\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard match: `*` any run of characters, `?` one character."""
    return bool(_wildcard(pattern, ignore_case).match(value))


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: the six colon-separated parts matched one by one."""
    if pattern == "*":
        return True
    want, got = pattern.split(":", 5), value.split(":", 5)
    if len(want) != 6 or len(got) != 6:
        return like(pattern, value)
    return all(like(w, g) for w, g in zip(want, got, strict=True))


def action_matches(pattern: str, action: str) -> bool:
    return like(pattern, action, ignore_case=True)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyError(f"{where} must be a string or a list of strings, found {value!r:.80}")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- conditions ----------------------------------------------------------------------------

_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
            "ArnNotLike", "NumericNotEquals", "DateNotEquals", "NotIpAddress"}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    number = _number(text)
    if number is not None:
        return number
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _ip(want: str, got: str) -> bool:
    try:
        return ipaddress.ip_address(got) in ipaddress.ip_network(want, strict=False)
    except ValueError:
        return False


def _compare(base: str, want: str, got: str) -> bool | None:
    """The positive form of operator `base` on one policy value and one request value."""
    positive = {"StringNotEquals": "StringEquals",
                "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
                "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals",
                "ArnNotLike": "ArnLike", "NumericNotEquals": "NumericEquals",
                "DateNotEquals": "DateEquals", "NotIpAddress": "IpAddress"}.get(base, base)
    if positive == "StringEquals":
        return want == got
    if positive == "StringEqualsIgnoreCase":
        return want.lower() == got.lower()
    if positive == "StringLike":
        return like(want, got)
    if positive in ("ArnEquals", "ArnLike"):
        return arn_like(want, got)
    if positive == "Bool":
        return want.lower() == got.lower()
    if positive == "IpAddress":
        return _ip(want, got)
    if positive.startswith(("Numeric", "Date")):
        read = _number if positive.startswith("Numeric") else _date
        a, b = read(got), read(want)
        if a is None or b is None:
            return False
        kind = positive.removeprefix("Numeric").removeprefix("Date")
        return {"Equals": a == b, "LessThan": a < b, "LessThanEquals": a <= b,
                "GreaterThan": a > b, "GreaterThanEquals": a >= b}.get(kind)
    return None


_KNOWN = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
          "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike", "ArnEquals", "ArnLike",
          "ArnNotEquals", "ArnNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
          "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
          "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals",
          "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
          "NotIpAddress", "Null"}


@dataclass(frozen=True)
class Condition:
    """One operator on one key, e.g. ArnEquals aws:SourceArn [arn...]."""

    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    key: str  # as written
    values: tuple[str, ...]

    @property
    def _parts(self) -> tuple[str, str, bool]:
        qualifier, _, op = self.operator.rpartition(":")
        if_exists = op.endswith("IfExists") and op != "IfExists"
        return qualifier.lower(), op.removesuffix("IfExists") if if_exists else op, if_exists

    def check_operator(self) -> None:
        qualifier, base, _ = self._parts
        if base not in _KNOWN or qualifier not in ("", "foranyvalue", "forallvalues"):
            raise PolicyError(f"unknown condition operator `{self.operator}`")

    def holds(self, context: Mapping[str, ContextValue]) -> bool:
        qualifier, base, if_exists = self._parts
        present = {k.lower(): v for k, v in context.items()}
        value = present.get(self.key.lower())
        if base == "Null":
            want_absent = any(v.lower() == "true" for v in self.values)
            return (value is None) == want_absent
        if value is None:
            # A missing key: positive operators fail, negated ones (and IfExists) hold.
            return if_exists or base in _NEGATED or qualifier == "forallvalues"
        got = [_scalar(v) for v in value] if isinstance(value, list | tuple) else [_scalar(value)]
        negated = base in _NEGATED

        def one(item: str) -> bool:
            hit = any(_compare(base, want, item) for want in self.values)
            return not hit if negated else hit

        if qualifier == "forallvalues":
            return all(one(item) for item in got)
        return any(one(item) for item in got)

    def describe(self) -> str:
        shown = self.values[0] if len(self.values) == 1 else list(self.values)
        return f"{self.operator} {self.key} {shown}"


# --- statements and policies ---------------------------------------------------------------

PrincipalSpec = dict[str, tuple[str, ...]] | None  # kind -> values; {"*": ("*",)} is everyone


def _principal_spec(value: Any, where: str) -> PrincipalSpec:
    if value is None:
        return None
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, dict) or not value:
        raise PolicyError(f"{where} must be \"*\" or a mapping like {{\"Service\": ...}}")
    spec: dict[str, tuple[str, ...]] = {}
    for kind, ids in value.items():
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise PolicyError(f"{where} has an unknown principal type `{kind}`")
        spec[kind] = _strings(ids, f"{where}.{kind}")
    if "*" in spec.get("AWS", ()):
        spec["*"] = ("*",)  # {"AWS": "*"} is everyone, as "*" is
    return spec


def _principal_in(spec: dict[str, tuple[str, ...]], who: Principal) -> bool:
    if "*" in spec:
        return True
    if who.kind == "Anonymous":
        return False
    if who.kind == "Service":
        return any(s.lower() == who.id.lower() for s in spec.get("Service", ()))
    if who.kind == "AWS":
        for value in spec.get("AWS", ()):
            if value == who.id:
                return True
            account = value if value.isdigit() else \
                value.split(":")[4] if value.endswith(":root") and value.count(":") >= 5 else ""
            if account and account == who.account_id:
                return True
        return False
    return who.id in spec.get(who.kind, ())


@dataclass(frozen=True)
class Statement:
    index: int  # 1-based, as a learner counts them
    sid: str
    effect: str  # "Allow" | "Deny"
    principal: PrincipalSpec
    not_principal: PrincipalSpec
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    conditions: tuple[Condition, ...]

    @property
    def name(self) -> str:
        return f"statement {self.index}" + (f" (Sid \"{self.sid}\")" if self.sid else "")

    def applies_to(self, request: Request) -> bool:
        if request.principal is not None:
            if self.principal is not None and not _principal_in(self.principal,
                                                                request.principal):
                return False
            if self.not_principal is not None and _principal_in(self.not_principal,
                                                                request.principal):
                return False
        if self.actions and not any(action_matches(a, request.action) for a in self.actions):
            return False
        if self.not_actions and any(action_matches(a, request.action)
                                    for a in self.not_actions):
            return False
        if self.resources and not any(arn_like(r, request.resource) for r in self.resources):
            return False
        if self.not_resources and any(arn_like(r, request.resource)
                                      for r in self.not_resources):
            return False
        return all(c.holds(request.context) for c in self.conditions)

    def describe(self) -> str:
        """`statement 2 (Sid "Open"): Allow * sqs:* on * with no condition`."""
        if self.principal is not None:
            who = "anyone" if "*" in self.principal else ", ".join(
                f"{k} {list(v) if len(v) > 1 else v[0]}" for k, v in self.principal.items())
        elif self.not_principal is not None:
            who = "anyone but " + ", ".join(f"{k} {list(v)}"
                                            for k, v in self.not_principal.items())
        else:
            who = ""
        what = ", ".join(self.actions) if self.actions else \
            "every action but " + ", ".join(self.not_actions)
        where = ", ".join(self.resources) if self.resources else \
            ("everything but " + ", ".join(self.not_resources) if self.not_resources
             else "this resource")
        when = " and ".join(c.describe() for c in self.conditions) or "no condition"
        return f"{self.name}: {self.effect} {who + ' ' if who else ''}{what} on {where} " \
               f"with {when}"


def _statement(raw: Any, index: int, attached_to: str | None, resource_policy: bool
               ) -> Statement:
    where = f"statement {index}"
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} is not a mapping")
    fields = {k.lower(): v for k, v in raw.items()}
    effect = fields.get("effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}: Effect must be \"Allow\" or \"Deny\", found {effect!r}")
    actions = _strings(fields["action"], f"{where}.Action") if "action" in fields else ()
    not_actions = _strings(fields["notaction"], f"{where}.NotAction") \
        if "notaction" in fields else ()
    if not actions and not not_actions:
        raise PolicyError(f"{where} has neither Action nor NotAction")
    resources = _strings(fields["resource"], f"{where}.Resource") if "resource" in fields \
        else ()
    not_resources = _strings(fields["notresource"], f"{where}.NotResource") \
        if "notresource" in fields else ()
    if not resources and not not_resources:
        if attached_to is None and not resource_policy:
            raise PolicyError(f"{where} has neither Resource nor NotResource")
        resources = (attached_to,) if attached_to else ("*",)
    principal = _principal_spec(fields.get("principal"), f"{where}.Principal")
    not_principal = _principal_spec(fields.get("notprincipal"), f"{where}.NotPrincipal")
    if resource_policy and principal is None and not_principal is None:
        raise PolicyError(f"{where} has no Principal: a resource policy must say who it "
                          "admits")
    conditions: list[Condition] = []
    block = fields.get("condition") or {}
    if not isinstance(block, dict):
        raise PolicyError(f"{where}.Condition must be a mapping of operators")
    for operator, keys in block.items():
        if not isinstance(keys, dict):
            raise PolicyError(f"{where}.Condition.{operator} must map keys to values")
        for key, values in keys.items():
            items = values if isinstance(values, list) else [values]
            condition = Condition(str(operator), str(key), tuple(_scalar(v) for v in items))
            condition.check_operator()
            conditions.append(condition)
    return Statement(index, str(fields.get("sid") or ""), effect, principal, not_principal,
                     actions, not_actions, resources, not_resources, tuple(conditions))


@dataclass(frozen=True)
class Decision:
    effect: str  # "allow" | "deny" (explicit) | "implicit-deny"
    statement: Statement | None = None  # the statement that decided, if any

    @property
    def allowed(self) -> bool:
        return self.effect == "allow"


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    source: str = ""  # where it came from, e.g. "the queue policy of lab08-billing"

    @classmethod
    def parse(cls, document: str | Mapping[str, Any] | None, *, attached_to: str | None = None,
              resource_policy: bool = False, source: str = "") -> Policy:
        """Read a policy document (JSON text or a mapping). `attached_to`: the resource a
        resource policy is set on (the default Resource); `resource_policy`: statements
        must name a Principal."""
        if document is None or document == "":
            return cls((), source)
        if isinstance(document, str):
            try:
                document = json.loads(document)
            except ValueError as exc:
                raise PolicyError(f"the policy is not valid JSON ({exc})") from None
        if not isinstance(document, Mapping):
            raise PolicyError("the policy is not a JSON object")
        fields = {k.lower(): v for k, v in document.items()}
        raw = fields.get("statement")
        if raw is None:
            raise PolicyError("the policy has no Statement")
        items = raw if isinstance(raw, list) else [raw]
        return cls(tuple(_statement(s, i, attached_to, resource_policy)
                         for i, s in enumerate(items, start=1)), source)

    def evaluate(self, request: Request) -> Decision:
        return evaluate([self], request)

    def allows(self, request: Request) -> bool:
        return self.evaluate(request).allowed


def evaluate(policies: Iterable[Policy], request: Request) -> Decision:
    """IAM's rule over a set of policies: an explicit Deny wins, else any Allow, else deny."""
    allow: Statement | None = None
    for policy in policies:
        for statement in policy.statements:
            if not statement.applies_to(request):
                continue
            if statement.effect == "Deny":
                return Decision("deny", statement)
            allow = allow or statement
    return Decision("allow", allow) if allow else Decision("implicit-deny")


# --- audits: exactly what the step asked for, no wider ----------------------------------


@dataclass
class AccessReport:
    missing: list[tuple[Request, Decision]] = field(default_factory=list)  # needed, denied
    excess: list[tuple[Request, Decision]] = field(default_factory=list)  # forbidden, allowed

    @property
    def ok(self) -> bool:
        return not self.missing and not self.excess

    def findings(self, limit: int = 2) -> list[str]:
        """Learner-facing sentences, the worst first: over-broad grants, then gaps."""
        lines: list[str] = []
        seen: set[int] = set()
        for request, decision in self.excess:
            statement = decision.statement
            key = statement.index if statement else 0
            if key in seen:
                continue
            seen.add(key)
            grant = statement.describe() if statement else "a statement"
            lines.append(f"{grant} — it also lets {request.describe()}")
        for request, decision in self.missing:
            why = f" ({decision.statement.name} denies it)" if decision.effect == "deny" \
                and decision.statement else ""
            lines.append(f"nothing allows {request.describe()}{why}")
        return lines[:limit]

    def summary(self) -> str:
        return "; ".join(self.findings()) or "access is exactly what was asked for"

    def to_evidence(self) -> dict[str, Any]:
        return {"excess": [r.describe() for r, _ in self.excess],
                "missing": [r.describe() for r, _ in self.missing],
                "findings": self.findings(limit=10)}


def audit(policies: Iterable[Policy], must_allow: Iterable[Request],
          must_deny: Iterable[Request]) -> AccessReport:
    """Which required requests are denied, and which forbidden ones are allowed."""
    chosen = list(policies)
    report = AccessReport()
    for request in must_allow:
        decision = evaluate(chosen, request)
        if not decision.allowed:
            report.missing.append((request, decision))
    for request in must_deny:
        decision = evaluate(chosen, request)
        if decision.allowed:
            report.excess.append((request, decision))
    return report


# --- probes: the requests that tell "exactly" from "too wide" ---------------------------

# Queue actions that a publishing service never needs; granting any of them to it, or any
# action to someone else, is wider than "let this topic/bucket/rule send here".
SQS_OTHER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue",
                     "sqs:SetQueueAttributes", "sqs:DeleteQueue", "sqs:ChangeMessageVisibility",
                     "sqs:AddPermission")
OTHER_ACCOUNT = "111122223333"


def _sibling_arn(arn: str, suffix: str = "-other") -> str:
    return arn + suffix


def _in_account(arn: str, account: str) -> str:
    parts = arn.split(":", 5)
    if len(parts) == 6:
        parts[4] = account
    return ":".join(parts)


def source_probes(resource: str, action: str, service: str, source_arn: str,
                  account: str, *, source_account_key: bool = True,
                  other_actions: Sequence[str] = SQS_OTHER_ACTIONS
                  ) -> tuple[list[Request], list[Request]]:
    """(must_allow, must_deny) for "only `service` on behalf of `source_arn` may `action`
    on `resource`": the service from the right source; and everything a confused deputy,
    another account or an over-broad grant would let through."""
    context: dict[str, ContextValue] = {"aws:SourceArn": source_arn}
    if source_account_key:
        context["aws:SourceAccount"] = account
    srv = Principal.service(service)
    allow = [Request(action, resource, srv, context,
                     label=f"{service} to {action.split(':')[-1]} on behalf of {source_arn}")]
    other_source = _sibling_arn(source_arn)
    foreign_source = _in_account(source_arn, OTHER_ACCOUNT)
    deny = [
        Request(action, resource, srv, {"aws:SourceArn": other_source,
                                        "aws:SourceAccount": account},
                label=f"{service} on behalf of another resource of your account "
                      f"({other_source.rsplit(':', 1)[-1]})"),
        Request(action, resource, srv, {"aws:SourceArn": foreign_source,
                                        "aws:SourceAccount": OTHER_ACCOUNT},
                label=f"{service} on behalf of a resource with the same name in another "
                      f"account ({OTHER_ACCOUNT})"),
        Request(action, resource, srv, {},
                label=f"{service} with no source at all (any of its customers)"),
        Request(action, resource, Principal.anonymous(), {},
                label=f"anyone, anonymously, to {action.split(':')[-1]}"),
        Request(action, resource, Principal.account(OTHER_ACCOUNT), {},
                label=f"another AWS account ({OTHER_ACCOUNT}) to {action.split(':')[-1]}"),
    ]
    deny += [Request(other, resource, srv, context,
                     label=f"{service} to {other.split(':')[-1]} (only "
                           f"{action.split(':')[-1]} was asked for)")
             for other in other_actions]
    return allow, deny
