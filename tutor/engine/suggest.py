"""The one "did you mean" rule, for every name a learner or an author can mistype."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str], *, n: int = 1, quote: str = "`") -> str:
    """"did you mean `x`?" (or "`x` or `y`" with n=2) for a near miss, else ""."""
    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)
    if not close:
        return ""
    return "did you mean " + " or ".join(f"{quote}{c}{quote}" for c in close) + "?"
