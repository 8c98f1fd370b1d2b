"""`q` quits at once during a check, and the learner's programs do not outlive the tutor."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tutor.cloud.endpoint import Endpoint
from tutor.ui.app import make_app
from tutor.ui.screens.lab import LabScreen
from tutor.ui.widgets.connection import ConnectionBar

from .helpers import FIXTURES, SIZE, home_ready, learner_programs, until


@pytest.mark.localstack
async def test_quit_during_a_check_is_instant_and_stops_programs(
        localstack: Endpoint, tutor_home: Path, quizzes: Path) -> None:
    app = make_app(labs_dir=FIXTURES / "labs", quizzes_dir=quizzes, endpoint=localstack.url)
    workspace = tutor_home / "workspace" / "01-slow-worker"
    async with app.run_test(size=SIZE) as pilot:
        await home_ready(app, pilot)
        assert app.screen.query_one("#labs", DataTable).row_count == 1
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, LabScreen) and app.screen.lab is not None,
                    pilot)
        screen = app.screen
        await until(lambda: screen.query_one(ConnectionBar).state.phase == "ready", pilot)
        await pilot.press("s")
        await until(lambda: screen.progress.started, pilot)
        await pilot.press("c")
        await until(lambda: learner_programs(workspace), pilot)  # the worker loops on
        assert screen.checking
        await pilot.press("r")  # no reset under a running check
        await pilot.pause()
        assert app.screen is screen
        pressed = time.monotonic()
        await pilot.press("q")
    quit_seconds = time.monotonic() - pressed
    assert quit_seconds < 2.0, f"quitting took {quit_seconds:.1f} s"
    running = learner_programs(workspace)
    assert running  # the check is still waiting for it ...
    stopped = app.shutdown()  # ... until the tutor stops it on the way out
    assert stopped
    assert not learner_programs(workspace)


@pytest.mark.localstack
def test_q_ends_the_tutor_even_when_its_shutdown_hangs(localstack: Endpoint,
                                                       tutor_home: Path) -> None:
    """The hard exit: past the deadline the stacks go to crash.log and the process leaves."""
    import os
    import pty
    import select
    import subprocess
    import sys

    deadline = 2.0
    master, slave = pty.openpty()
    env = {**os.environ, "TUTOR_HOME": str(tutor_home), "TERM": "xterm-256color",
           "COLUMNS": "80", "LINES": "24"}
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "programs" / "hanging_quit.py"),
         str(deadline), "--endpoint", localstack.url],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        painted = time.monotonic() + 60
        while b"Quit" not in seen and time.monotonic() < painted:  # the footer is drawn
            if select.select([master], [], [], 0.2)[0]:
                seen += os.read(master, 65536)
        assert b"Quit" in seen, "the app never painted its footer"
        time.sleep(0.5)
        os.write(master, b"q")
        pressed = time.monotonic()
        while proc.poll() is None and time.monotonic() - pressed < deadline + 20:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
        proc.wait(timeout=5)
        took = time.monotonic() - pressed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(master)
    assert proc.returncode == 0
    assert deadline <= took < deadline + 5, f"q took {took:.1f} s"
    log = (tutor_home / "crash.log").read_text()
    assert "quit took more than 2 s" in log and "_stuck" in log  # the hanging frame is named
