"""Condition blocks: the String, Arn, Numeric, Date, Bool, IpAddress and Null operators,
their `IfExists` forms and the `ForAnyValue:`/`ForAllValues:` qualifiers."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from tutor.engine.policy.matching import PolicyError, _scalar, arn_like, like
from tutor.engine.policy.principals import ContextValue

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
