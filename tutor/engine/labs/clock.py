"""The lab clock: compressed timings, each shown next to the production value it stands for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tutor.engine.labs.model import ClockEntry


def human(seconds: float) -> str:
    """`6` -> `6 s`, `360` -> `6 min`, `1209600` -> `14 days`."""
    units = ((86400, "day"), (3600, "h"), (60, "min"), (1, "s"))
    for size, name in units:
        if seconds >= size and (seconds % size == 0 or size == 1 or seconds >= 10 * size):
            value = seconds / size
            text = f"{value:g}" if value == int(value) else f"{value:.1f}"
            if name == "day":
                return f"{text} day" + ("" if value == 1 else "s")
            return f"{text} {name}"
    return f"{seconds:g} s"


@dataclass(frozen=True)
class LabClock:
    """Read compressed timings by name; explain each as lab value = production value."""

    entries: Mapping[str, ClockEntry]

    def seconds(self, name: str) -> float:
        """The value this lab uses (what checks compare against)."""
        return self.entries[name].lab_seconds

    def production(self, name: str) -> float:
        return self.entries[name].production_seconds

    def scale(self, name: str) -> float:
        entry = self.entries[name]
        return entry.production_seconds / entry.lab_seconds

    def explain(self, name: str) -> str:
        """e.g. "visibility timeout: 6 s here = 6 min in production"."""
        entry = self.entries[name]
        text = (f"{name.replace('_', ' ')}: {human(entry.lab_seconds)} here = "
                f"{human(entry.production_seconds)} in production")
        return f"{text} ({entry.note})" if entry.note else text

    def table(self) -> list[str]:
        return [self.explain(name) for name in self.entries]
