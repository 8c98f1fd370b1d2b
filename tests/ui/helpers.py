"""Helpers for the TUI tests: waiting for state, reading toasts, the content fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psutil
from textual.pilot import Pilot

FIXTURES = Path(__file__).parent / "fixtures"
SIZE = (110, 32)


async def until(predicate: Callable[[], object], pilot: Pilot[None],
                seconds: float = 30.0) -> None:
    """Let the app run until `predicate()` holds (workers report back as messages)."""
    for _ in range(int(seconds * 10)):
        if predicate():
            await pilot.pause()  # let what the change started (mounts, titles) settle
            return
        await pilot.pause(0.1)
    raise AssertionError(f"condition not reached within {seconds} s")


def notes(app: object) -> list[str]:
    """The toasts the app has shown (title and message)."""
    return [f"{n.title}: {n.message}" for n in app._notifications]  # type: ignore[attr-defined]


async def home_ready(app: object, pilot: Pilot[None]) -> None:
    """Wait until the home screen has read labs/ and quizzes/ (it does so in a worker)."""
    await until(lambda: getattr(app.screen, "loaded", False), pilot)  # type: ignore[attr-defined]


def cut_off(screen: object) -> list[str]:
    """Footer keys and visible widgets of `screen` that do not fit inside it (80x24)."""
    whole = screen.region  # type: ignore[attr-defined]
    problems = [f"footer key {k.key}" for k in screen.query("FooterKey")  # type: ignore[attr-defined]
                if not whole.contains_region(k.region)]
    for widget in screen.query("ConnectionBar, Footer, Header"):  # type: ignore[attr-defined]
        if widget.display and not whole.contains_region(widget.region):
            problems.append(type(widget).__name__)
    return problems


def learner_programs(workspace: Path) -> list[psutil.Process]:
    """Our living child processes working in `workspace` (the learner's programs)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.cwd() == str(workspace) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.Error:
            continue
    return found
