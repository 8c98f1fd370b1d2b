"""The exam clock: a reactive number of seconds left, shown as mm:ss (or h:mm:ss)."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

LOW_SECONDS = 300  # the last five minutes are shown as a warning


def clock_text(seconds: float) -> str:
    whole = max(0, int(seconds + 0.999))  # 0.2 s left still shows 00:01
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Countdown(Static):
    DEFAULT_CSS = """
    Countdown { width: auto; height: 1; padding: 0 1; color: $success; text-style: bold; }
    Countdown.-low { color: $warning; }
    Countdown.-out { color: $error; background: $error 20%; }
    """

    seconds_left: reactive[float] = reactive(0.0)

    def render(self) -> str:
        return f"⏱ {clock_text(self.seconds_left)} left"

    def watch_seconds_left(self, seconds: float) -> None:
        self.set_class(0 < seconds <= LOW_SECONDS, "-low")
        self.set_class(seconds <= 0, "-out")
