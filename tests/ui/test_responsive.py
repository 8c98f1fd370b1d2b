"""The UI keeps answering keys while its LocalStack is killed, or hangs under a running check."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from textual.pilot import Pilot

from tutor.cloud.embedded import EmbeddedLocalStack
from tutor.ui.app import TutorApp, make_app
from tutor.ui.screens.help import HelpScreen
from tutor.ui.screens.home import HomeScreen
from tutor.ui.screens.lab import LabScreen
from tutor.ui.widgets.connection import ConnectionBar
from tutor.ui.widgets.lab_brief import LabBrief
from tutor.ui.widgets.step_list import StepList

from .helpers import FIXTURES, home_ready, learner_programs, notes, open_lab, until

SIZE = (80, 24)  # the smallest terminal the app promises to work in
KEY_BOUND = 3.0  # seconds from a key press to the screen showing it, on a busy 2-core box


def localstack_processes(embedded: EmbeddedLocalStack) -> list[psutil.Process]:
    """LocalStack itself and its children (not the watchdog: it is the one that notices)."""
    assert embedded.pid is not None
    return psutil.Process(embedded.pid).children(recursive=True)


def signal_all(processes: list[psutil.Process], sig: signal.Signals) -> None:
    for proc in processes:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            continue


@pytest.fixture
def own_localstack(tmp_path: Path) -> Iterator[EmbeddedLocalStack]:
    """A LocalStack of this test alone: it is killed or frozen, the session's is not."""
    embedded = EmbeddedLocalStack(data=tmp_path / "localstack")
    embedded.start()
    started = localstack_processes(embedded)
    try:
        yield embedded
    finally:
        signal_all(started, signal.SIGCONT)  # a frozen one must be able to stop
        embedded.stop()


async def responds(pilot: Pilot[None], key: str, shown: Callable[[], object],
                   what: str) -> float:
    """Press `key`; the seconds until `shown()` holds, failing past KEY_BOUND."""
    pressed = time.monotonic()
    await pilot.press(key)
    while not shown():
        waited = time.monotonic() - pressed
        assert waited < KEY_BOUND, f"{key!r}: {what} not shown after {waited:.1f} s"
        await pilot.pause(0.02)
    return time.monotonic() - pressed


def bar_text(app: TutorApp) -> str:
    return str(app.screen.query_one(ConnectionBar).render())


async def test_keys_work_and_the_bar_says_lost_after_localstack_is_killed(
        own_localstack: EmbeddedLocalStack, labs: Path, quizzes: Path) -> None:
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, endpoint=own_localstack.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(app, pilot, ready=True)
        brief = screen.query_one(LabBrief)
        await responds(pilot, "escape", lambda: brief.active == "tab-step", "the step tab")

        killed = time.monotonic()
        signal_all(localstack_processes(own_localstack), signal.SIGKILL)  # a crash
        await until(lambda: app.connection.phase == "lost", pilot, seconds=10)
        noticed = time.monotonic() - killed
        assert noticed < 10, f"the loss was noticed after {noticed:.1f} s"
        assert "LOST" in bar_text(app) and own_localstack.url in bar_text(app)
        assert any(own_localstack.url in n for n in notes(app))  # a toast says so too
        assert app.screen is screen  # an outside LocalStack: a toast, no dialog in the way

        # Every screen change still happens within the bound, with LocalStack gone.
        await responds(pilot, "m", lambda: brief.active == "tab-readme", "the README")
        await responds(pilot, "escape", lambda: brief.active == "tab-step", "the step")
        await responds(pilot, "c", lambda: any("not ready" in n for n in notes(app)),
                       "a refusal to check")
        assert not screen.checking  # nothing was started against a lost LocalStack
        await responds(pilot, "escape", lambda: isinstance(app.screen, HomeScreen), "home")
        assert "LOST" in bar_text(app)  # the home screen's bar is current as well
        await responds(pilot, "question_mark", lambda: isinstance(app.screen, HelpScreen),
                       "the help")
        await responds(pilot, "escape", lambda: isinstance(app.screen, HomeScreen), "home")
        await responds(pilot, "enter", lambda: isinstance(app.screen, LabScreen),
                       "the lab again")
        await until(lambda: app.screen.lab is not None, pilot)
        assert "LOST" in bar_text(app)
        await pilot.press("q")
    assert app.return_code == 0


async def test_keys_work_during_a_slow_check_and_after_localstack_freezes(
        own_localstack: EmbeddedLocalStack, quizzes: Path, tutor_home: Path) -> None:
    # The fixture lab's check runs a worker that never exits: a check that takes long.
    app = make_app(labs_dir=FIXTURES / "labs", quizzes_dir=quizzes,
                   endpoint=own_localstack.url)
    workspace = tutor_home / "workspace" / "01-slow-worker"
    try:
        async with app.run_test(size=SIZE) as pilot:
            await home_ready(app, pilot)
            await until(lambda: app.connection.phase == "ready", pilot)
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, LabScreen)
                        and app.screen.lab is not None, pilot)
            screen = app.screen
            assert isinstance(screen, LabScreen)
            brief = screen.query_one(LabBrief)
            await pilot.press("escape")  # the overview first; then the step list
            await pilot.press("s")
            await until(lambda: screen.progress.started, pilot)
            await pilot.press("c")
            await until(lambda: learner_programs(workspace), pilot)  # the worker loops on
            assert screen.checking

            async def keys_are_handled() -> list[float]:
                return [
                    await responds(pilot, "m", lambda: brief.active == "tab-readme",
                                   "the README"),
                    await responds(pilot, "escape", lambda: brief.active == "tab-step",
                                   "the step"),
                    await responds(pilot, "question_mark",
                                   lambda: isinstance(app.screen, HelpScreen), "the help"),
                    await responds(pilot, "escape", lambda: app.screen is screen, "the lab"),
                ]

            await keys_are_handled()
            assert screen.checking, "the check ended before the keys were tested"
            assert "checking" in str(screen.query_one("#lab-status").render())

            # SIGSTOP: the kernel still accepts connections and nothing answers them.
            signal_all(localstack_processes(own_localstack), signal.SIGSTOP)
            await until(lambda: app.connection.phase == "lost", pilot, seconds=10)
            assert "LOST" in bar_text(app)
            await keys_are_handled()
            await responds(pilot, "v", lambda: brief.active == "tab-overview", "the overview")
            await responds(pilot, "escape", lambda: brief.active == "tab-step", "the step")

            # The check is bounded: it ends by itself, and the screen settles.
            await until(lambda: not screen.checking, pilot, seconds=90)
            steps = screen.query_one(StepList)
            assert steps.states["run-worker"].status != "passed"
            assert "checking" not in str(screen.query_one("#lab-status").render())
            await pilot.press("q")
        assert app.return_code == 0
    finally:
        app.shutdown()  # the worker the check started does not outlive the test
    assert not learner_programs(workspace)
