"""LocalStack killed under the app: noticed in seconds, shown everywhere, restarted on a key.

The app starts its own embedded LocalStack here (as `tutor` does with nothing running),
not the session's: the test kills it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
from textual.widgets import DataTable

from tutor.cloud.connection import ConnectionMonitor
from tutor.ui.app import TutorApp
from tutor.ui.dialogs.restart import RestartOffer
from tutor.ui.screens.progress import ProgressScreen
from tutor.ui.widgets.connection import ConnectionBar

from .helpers import home_ready, notes, until

NOTICE_BOUND = 5.0  # "within a few seconds"


def embedded_app(labs: Path, quizzes: Path) -> TutorApp:
    def monitor(explicit: str | None, on_change, account=None):  # type: ignore[no-untyped-def]
        # No endpoint may be found: a LocalStack on 4566 or in the shell must not count.
        return ConnectionMonitor(explicit, on_change, resolve=lambda _explicit: None,
                                 account=account)

    return TutorApp(labs_dir=labs, quizzes_dir=quizzes, monitor_factory=monitor)


def kill_localstack(watchdog_pid: int) -> int:
    """SIGKILL LocalStack and its children (a crash); the watchdog sees it exit."""
    victims = psutil.Process(watchdog_pid).children(recursive=True)
    assert victims, "no LocalStack under the watchdog"
    for proc in victims:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    return len(victims)


def footer_keys(app: TutorApp) -> set[str]:
    return {b.key for (_node, b, enabled, _tip) in app.screen.active_bindings.values()
            if enabled and b.show}


async def test_killed_localstack_is_noticed_and_restarted(labs: Path, quizzes: Path,
                                                          tutor_home: Path) -> None:
    app = embedded_app(labs, quizzes)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await home_ready(app, pilot)
            await until(lambda: app.connection.phase == "ready", pilot, seconds=120)
            monitor = app.monitor
            assert monitor is not None and monitor.embedded is not None
            url = monitor.embedded.url
            assert "ctrl+r" not in footer_keys(app)  # nothing to restart yet

            # What the learner has: progress in the store, a file in the workspace.
            store = app.course.store()
            store.record_step("09-fifo", "fifo-queue", 5, 5, True)
            workspace = tutor_home / "workspace" / "09-fifo"
            workspace.mkdir(parents=True)
            (workspace / "mine.py").write_text("print('my work')\n")

            await pilot.press("p")  # the loss must show on any screen, not just home
            await until(lambda: isinstance(app.screen, ProgressScreen), pilot)
            progress_screen = app.screen

            killed = time.monotonic()
            kill_localstack(monitor.embedded.pid or 0)
            await until(lambda: app.connection.phase == "lost", pilot, seconds=15)
            noticed = time.monotonic() - killed
            print(f"\nLocalStack loss noticed after {noticed:.2f} s")
            assert noticed < NOTICE_BOUND, f"noticed after {noticed:.1f} s"
            assert app.connection.restartable
            await until(lambda: isinstance(app.screen, RestartOffer), pilot)
            bar = progress_screen.query_one(ConnectionBar)
            assert bar.has_class("-lost") and url in str(bar.render())
            assert {"y", "n"} <= footer_keys(app)  # the dialog's own keys

            await pilot.press("n")  # not now: the offer goes, ctrl+r stays
            await until(lambda: app.screen is progress_screen, pilot)
            assert "ctrl+r" in footer_keys(app)
            assert "ctrl+r" in str(bar.render())

            started = time.monotonic()
            await pilot.press("ctrl+r")
            await until(lambda: app.connection.phase == "booting", pilot)
            assert "ctrl+r" not in footer_keys(app)  # no second restart meanwhile
            await until(lambda: app.connection.phase == "ready", pilot, seconds=120)
            restart = time.monotonic() - started
            print(f"LocalStack restarted in {restart:.2f} s "
                  f"(app figure {app.last_restart_seconds:.2f} s)")
            assert app.connection.endpoint is not None
            assert bar.has_class("-ready")
            said = [n for n in notes(app) if "restarted" in n]
            assert said and app.connection.endpoint.url in said[-1]
            # The same port (TIME_WAIT counts as free): the learner's shell keeps working.
            assert app.connection.endpoint.url == url
            assert 'eval "$(tutor env)" again' not in said[-1]
            assert app.screen is progress_screen

            # Progress and workspace untouched; the new LocalStack answers requests.
            assert store.best_steps("09-fifo") == {"fifo-queue": 1.0}
            assert (workspace / "mine.py").read_text() == "print('my work')\n"
            from tutor.cloud.clients import client

            sqs = client("sqs", app.connection.endpoint)
            assert "QueueUrl" in sqs.create_queue(QueueName="after-restart")

            # Killed again: the dialog is offered again, and `y` restarts.
            kill_localstack(app.monitor.embedded.pid or 0)  # type: ignore[union-attr]
            await until(lambda: isinstance(app.screen, RestartOffer), pilot, seconds=15)
            await pilot.press("y")
            await until(lambda: app.connection.phase == "ready" and app.restarting is None,
                        pilot, seconds=120)
            await pilot.press("escape")
            await until(lambda: app.screen.query(DataTable) and
                        app.screen.query_one(ConnectionBar).has_class("-ready"), pilot)
            await pilot.press("q")
    finally:
        if app.monitor is not None:
            app.monitor.close(wait=True)


async def test_external_localstack_lost_says_how_to_start_it(tmp_path: Path) -> None:
    states = []
    monitor = ConnectionMonitor("http://127.0.0.1:9", states.append)
    import threading

    thread = threading.Thread(target=monitor.run, daemon=True)
    thread.start()
    for _ in range(50):
        if states and states[-1].phase == "lost":
            break
        time.sleep(0.1)
    monitor.close()
    thread.join(5)
    lost = states[-1]
    assert lost.phase == "lost" and not lost.restartable
    assert "http://127.0.0.1:9" in lost.fix and "tutor localstack up" in lost.fix
    from tutor.errors import TutorError

    try:
        monitor.restart()
    except TutorError as exc:
        assert "not started by the tutor" in exc.message
    else:
        raise AssertionError("an external LocalStack was 'restarted'")
