"""Time spent on a lab, derived from the store's timestamps (there is no activity log).

The store knows when a lab was (last) started or reset, when it was completed and when
each check ran. Between two such events the learner was most likely working on the lab
if the gap is short; a long gap is a break (the next lesson, the night). So:

- active time = the sum of the gaps between consecutive events that are at most
  IDLE_GAP (30 min); longer gaps count zero;
- sittings = the runs of events separated by gaps shorter than IDLE_GAP.

It is a lower bound: reading before the first check of a sitting (with no start event
in it) and the time after the last check are invisible. The lab clock (compressed
timings) says nothing about the learner's time and is not used.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import pairwise

from tutor.engine.report.model import TimeSpent

IDLE_GAP = 30 * 60.0


def stamp(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def time_spent(events: Iterable[float | None], idle_gap: float = IDLE_GAP) -> TimeSpent:
    times = sorted(t for t in events if t is not None)
    if not times:
        return TimeSpent(idle_gap_seconds=idle_gap)
    active = 0.0
    sittings = 1
    for before, after in pairwise(times):
        gap = after - before
        if gap <= idle_gap:
            active += gap
        else:
            sittings += 1
    return TimeSpent(first_activity_at=stamp(times[0]), last_activity_at=stamp(times[-1]),
                     active_seconds=round(active, 1), sittings=sittings,
                     idle_gap_seconds=idle_gap)
