"""Helpers for the TUI tests: waiting for state, reading toasts, the content fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
from textual.pilot import Pilot

if TYPE_CHECKING:
    from tutor.ui.screens.lab import LabScreen

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


async def open_lab(app: Any, pilot: Pilot[None], lab_id: str = "09-fifo", *,
                   ready: bool = False) -> LabScreen:
    """From home, open `lab_id` and wait until its screen has loaded the lab; with `ready`,
    first or after (whichever the test needs) until the status bar says LocalStack is."""
    from textual.widgets import DataTable

    from tutor.ui.screens.lab import LabScreen
    from tutor.ui.widgets.connection import ConnectionBar

    await home_ready(app, pilot)
    if ready:
        bar = app.screen.query_one(ConnectionBar)
        await until(lambda: bar.state.phase == "ready", pilot)
    table = app.screen.query_one("#labs", DataTable)
    table.move_cursor(row=table.get_row_index(lab_id))
    await pilot.press("enter")
    await until(lambda: isinstance(app.screen, LabScreen) and app.screen.lab is not None,
                pilot)
    screen: LabScreen = app.screen
    if ready:
        await until(lambda: screen.query_one(ConnectionBar).state.phase == "ready", pilot)
    return screen


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
