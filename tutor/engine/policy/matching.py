"""The policy evaluator's primitives: PolicyError, IAM wildcard and ARN matching, and the
readers that turn document values into strings."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any


class PolicyError(ValueError):
    """The document is not a policy the tutor (or IAM) can read."""


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
