"""Statements and policy documents: parsing them with IAM's rules, and evaluating a request
over a set of policies (an explicit Deny wins, else any Allow, else deny)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tutor.engine.policy.conditions import Condition
from tutor.engine.policy.matching import PolicyError, _scalar, _strings, action_matches, arn_like
from tutor.engine.policy.principals import (
    PrincipalSpec,
    Request,
    _principal_in,
    _principal_spec,
)

# --- statements and policies ---------------------------------------------------------------


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
