"""Who asks for what: `Principal`, `Request`, and a statement's `Principal`/`NotPrincipal`
block (`PrincipalSpec`), read from a document and matched against a caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tutor.engine.policy.matching import PolicyError, _strings

ContextValue = str | int | float | bool | Sequence[str]


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


# --- principal blocks of a statement -------------------------------------------------------

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
