"""A scenario's time limit (`Deadline`) and the waits that extended it (`Budget`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

# A scenario may extend its own time limit with `ctx.budget(...)` (waits sized from the
# learner's configuration) up to this many seconds in all.
SCENARIO_BUDGET_MAX = 180.0


class Deadline:
    """When a scenario must be done; `ctx.budget` moves it (bounded)."""

    def __init__(self, seconds: float, cap: float = SCENARIO_BUDGET_MAX) -> None:
        self.start = time.monotonic()
        self.at = self.start + seconds
        self.limit = self.start + max(seconds, cap)

    def extend_to(self, at: float) -> None:
        self.at = min(max(self.at, at), self.limit)

    def left(self) -> float:
        return max(0.0, self.at - time.monotonic())


@dataclass(frozen=True)
class Budget:
    seconds: float
    because: str  # which setting made it this long, in the learner's terms
    capped: bool = False

    def explain(self) -> str:
        cut = " (the most the tutor waits)" if self.capped else ""
        return f"{self.seconds:.0f} s{cut}, from {self.because}"
