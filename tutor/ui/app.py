"""The Textual app: a thin shell owning the connection worker, the course, the error path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tutor.cloud.connection import SHELL_HINT, ConnectionMonitor, ConnectionState
from tutor.cloud.endpoint import Endpoint
from tutor.errors import TutorError
from tutor.ui.course import Course
from tutor.ui.failures import as_tutor_error
from tutor.ui.quitting import DaemonExecutor, arm_hard_exit, stop_learner_programs
from tutor.ui.screens.home import HomeScreen
from tutor.ui.widgets.connection import ConnectionBar


class TutorApp(App[None]):
    TITLE = "SQS Patterns Tutor"
    SUB_TITLE = "hands-on labs and exam drills"
    CSS_PATH = "app.tcss"
    # Its ^p entry would push `?` and ctrl+r out of an 80-column footer; every action
    # has a key of its own.
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("question_mark", "help", "Help"),
                Binding("ctrl+r", "restart_localstack", "Restart")]

    class ConnectionChanged(Message):
        """The ConnectionMonitor's worker -> TutorApp.on_tutor_app_connection_changed (the
        bar on every screen, the restart dialog)."""

        def __init__(self, state: ConnectionState) -> None:
            super().__init__()
            self.state = state

    def __init__(self, *, labs_dir: Path, quizzes_dir: Path, endpoint: str | None = None,
                 connect: bool = True, startup_warning: str | None = None,
                 store_path: Path | None = None,
                 monitor_factory: Callable[..., ConnectionMonitor] = ConnectionMonitor) -> None:
        super().__init__()
        self.course = Course(labs_dir, quizzes_dir, store_path)
        self.labs_dir, self.quizzes_dir = labs_dir, quizzes_dir
        self.endpoint_arg = endpoint
        self.connect = connect
        self.startup_warning = startup_warning
        self.hard_exit_log: Path | None = None  # set by `tutor`: see quitting.arm_hard_exit
        self.connection = ConnectionState("booting", "Looking for LocalStack ...")
        self.monitor: ConnectionMonitor | None = None
        self._monitor_factory = monitor_factory
        self.restarting: float | None = None  # time.monotonic() when a restart began
        self.last_restart_seconds: float | None = None
        self.restarted_from = ""

    def get_default_screen(self) -> Screen[None]:
        # Home is the bottom of the stack from the first frame: pushed in on_mount, it
        # came one frame after Textual's blank default screen (about 0.1 s later).
        return HomeScreen()  # it reads labs/ and quizzes/ in a worker

    def on_mount(self) -> None:
        # Thread workers on daemon threads: `q` must not wait for a running check.
        asyncio.get_running_loop().set_default_executor(DaemonExecutor())
        if self.startup_warning:
            self.notify(self.startup_warning, title="Progress", severity="warning",
                        timeout=20)
        if self.connect:  # after the first frame: its imports and probes would delay it
            self.call_after_refresh(self.watch_connection)
        else:
            self.post_message(self.ConnectionChanged(
                ConnectionState("failed", "Not connected (started without LocalStack)")))

    @work(thread=True, exclusive=True, group="connection", exit_on_error=False)
    def watch_connection(self) -> None:
        def changed(state: ConnectionState) -> None:
            self.post_message(self.ConnectionChanged(state))

        from tutor.engine.learner import current

        # The learner's account, resolved once here at the edge (the cloud layer never
        # reads the progress store).
        self.monitor = self._monitor_factory(self.endpoint_arg, changed,
                                             account=current().account)
        self.monitor.run()

    def on_tutor_app_connection_changed(self, message: ConnectionChanged) -> None:
        before, state = self.connection, message.state
        self.connection = state
        for screen in self.screen_stack:  # the bars under a dialog too
            for bar in screen.query(ConnectionBar):
                bar.state = state
        self.refresh_bindings()  # ctrl+r shows in the footer only while it can help
        if self.restarting is not None:
            if state.phase == "ready":
                self.last_restart_seconds = time.monotonic() - self.restarting
                self.restarting = None
                url = state.endpoint.url if state.endpoint else "?"
                moved = "" if url == self.restarted_from else \
                    f" (a new port: run {SHELL_HINT} again in your shell)"
                self.notify(f"LocalStack restarted in {self.last_restart_seconds:.1f} s at "
                            f"{url}{moved}; create the lab's resources again (its infra "
                            "script) before checking", title="LocalStack", timeout=12)
            return  # a failed restart is reported by its worker
        if state.phase == "lost" and before.phase != "lost" and state.restartable and \
                getattr(self.screen, "USES_LOCALSTACK", True):
            self.offer_restart(state)
        elif state.phase in {"failed", "lost"} and state.fix and before.phase != state.phase:
            self.show_error(TutorError(state.detail, "LocalStack", state.fix))
        elif state.phase == "ready" and before.phase == "lost":  # started again outside
            self.notify(f"LocalStack answers again: {state.detail}", title="LocalStack",
                        timeout=8, markup=False)

    def offer_restart(self, state: ConnectionState) -> None:
        from tutor.ui.dialogs.restart import RestartOffer

        if not any(isinstance(s, RestartOffer) for s in self.screen_stack):
            self.push_screen(RestartOffer(state), self._restart_answer)

    def _restart_answer(self, yes: bool | None) -> None:
        if yes:
            self.action_restart_localstack()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restart_localstack":
            return self.connection.restartable and self.restarting is None and \
                getattr(self.screen, "USES_LOCALSTACK", True)
        return True

    def action_restart_localstack(self) -> None:
        if self.monitor is None or not self.connection.restartable or self.restarting:
            return
        self.restarting = time.monotonic()
        self.restarted_from = self.connection.endpoint.url if self.connection.endpoint else ""
        self.refresh_bindings()
        self.restart_localstack(self.monitor)

    @work(thread=True, exclusive=True, group="restart", exit_on_error=False)
    def restart_localstack(self, monitor: ConnectionMonitor) -> None:
        monitor.restart()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The app's own workers (connection, restart); screens handle theirs in base.py.
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            if event.worker.group == "restart":
                self.restarting = None
                self.refresh_bindings()
            self.show_error(event.worker.error, blocking=event.worker.group == "restart")

    def endpoint(self) -> Endpoint:
        """The LocalStack to use now; a TutorError while it boots or after it was lost."""
        state = self.connection
        if state.phase == "ready" and state.endpoint is not None:
            return state.endpoint
        raise TutorError(f"LocalStack is not ready ({state.phase}: {state.detail})",
                         "LocalStack not ready",
                         state.fix or "wait for the bar at the bottom to say READY")

    def endpoint_or_toast(self) -> Endpoint | None:
        """The endpoint, or None after telling the learner why there is none yet."""
        try:
            return self.endpoint()
        except TutorError as exc:
            self.show_error(exc)
            return None

    def show_error(self, error: BaseException, *, blocking: bool = False) -> None:
        """The one way errors reach the learner: a toast if transient, else a dialog."""
        problem = as_tutor_error(error)
        if blocking:
            from tutor.ui.dialogs.error import ErrorDialog

            self.push_screen(ErrorDialog(problem))
        else:
            self.notify(problem.one_line(), title=problem.title, severity="error",
                        timeout=12, markup=False)

    async def action_quit(self) -> None:
        if self.hard_exit_log is not None:  # the real `tutor` only, never a test's app
            from tutor import locations

            arm_hard_exit(locations.workspace_root(), self.hard_exit_log)
        self.exit()

    def action_help(self) -> None:
        from tutor import locations
        from tutor.ui.screens.help import HelpScreen  # Markdown is heavy: load on demand

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(locations.workspace_root(),
                                        self.course.store_path or locations.progress_db()))

    def on_unmount(self) -> None:
        # The connection worker must return before asyncio shuts its thread pool down.
        if self.monitor is not None:
            self.monitor.stop_polling()

    def shutdown_connection(self, wait: bool = False) -> None:
        if self.monitor is not None:
            self.monitor.close(wait=wait)

    def shutdown(self) -> list[int]:
        """After `run()`: stop LocalStack if ours, and the learner programs a check left
        running (the process groups stopped are returned)."""
        from tutor import locations

        self.shutdown_connection()
        self.course.close()
        return stop_learner_programs(locations.workspace_root())


def make_app(*, labs_dir: Path | None = None, quizzes_dir: Path | None = None,
             endpoint: str | None = None, connect: bool = True,
             startup_warning: str | None = None, store_path: Path | None = None) -> TutorApp:
    """The app as the CLI and the tests build it, with every path injectable."""
    from tutor import locations

    return TutorApp(labs_dir=labs_dir or locations.labs_dir(),
                    quizzes_dir=quizzes_dir or locations.quizzes_dir(),
                    endpoint=endpoint, connect=connect, startup_warning=startup_warning,
                    store_path=store_path)
