"""The Textual app: a thin shell that owns the connection worker and the screens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message

from tutor.cloud.connection import ConnectionMonitor, ConnectionState
from tutor.engine import catalog
from tutor.ui.screens.home import HomeScreen
from tutor.ui.widgets.connection import ConnectionBar


class TutorApp(App[None]):
    TITLE = "SQS Patterns Tutor"
    SUB_TITLE = "hands-on labs and exam drills"
    CSS_PATH = "app.tcss"
    BINDINGS = [Binding("q", "quit", "Quit")]

    class ConnectionChanged(Message):
        def __init__(self, state: ConnectionState) -> None:
            super().__init__()
            self.state = state

    def __init__(self, *, labs_dir: Path, quizzes_dir: Path, endpoint: str | None = None,
                 connect: bool = True, startup_warning: str | None = None,
                 monitor_factory: Callable[..., ConnectionMonitor] = ConnectionMonitor) -> None:
        super().__init__()
        self.labs_dir = labs_dir
        self.quizzes_dir = quizzes_dir
        self.endpoint_arg = endpoint
        self.connect = connect
        self.startup_warning = startup_warning
        self.connection = ConnectionState("booting", "Looking for LocalStack ...")
        self.monitor: ConnectionMonitor | None = None
        self._monitor_factory = monitor_factory

    def on_mount(self) -> None:
        self.push_screen(HomeScreen(catalog.labs(self.labs_dir),
                                    catalog.banks(self.quizzes_dir)))
        if self.startup_warning:
            self.notify(self.startup_warning, title="Progress", severity="warning",
                        timeout=20)
        if self.connect:
            self.watch_connection()
        else:
            self.post_message(self.ConnectionChanged(
                ConnectionState("failed", "Not connected (started without LocalStack)")))

    @work(thread=True, exclusive=True, group="connection", exit_on_error=False)
    def watch_connection(self) -> None:
        def changed(state: ConnectionState) -> None:
            self.call_from_thread(self.post_message, self.ConnectionChanged(state))

        self.monitor = self._monitor_factory(self.endpoint_arg, changed)
        self.monitor.run()

    def on_tutor_app_connection_changed(self, message: ConnectionChanged) -> None:
        self.connection = message.state
        for bar in self.screen.query(ConnectionBar):
            bar.state = message.state
        if message.state.phase in {"failed", "lost"} and message.state.fix:
            self.notify(f"{message.state.detail} — {message.state.fix}",
                        title="LocalStack", severity="error", timeout=15)

    def on_screen_resume(self) -> None:
        for bar in self.screen.query(ConnectionBar):
            bar.state = self.connection

    def action_refresh_catalog(self) -> None:
        screen = self.screen
        if isinstance(screen, HomeScreen):
            screen.fill(catalog.labs(self.labs_dir), catalog.banks(self.quizzes_dir))

    def on_home_screen_opened(self, message: HomeScreen.Opened) -> None:
        self.notify(f"{message.entry.title}: open it with `tutor {message.kind} ...` for now",
                    title=message.kind.title())

    def on_unmount(self) -> None:
        # The connection worker must return before asyncio shuts its thread pool down.
        if self.monitor is not None:
            self.monitor.stop_polling()

    def shutdown_connection(self, wait: bool = False) -> None:
        if self.monitor is not None:
            self.monitor.close(wait=wait)


def make_app(*, labs_dir: Path | None = None, quizzes_dir: Path | None = None,
             endpoint: str | None = None, connect: bool = True,
             startup_warning: str | None = None) -> TutorApp:
    """The app as the CLI and the tests build it, with every path injectable."""
    from tutor import locations

    return TutorApp(labs_dir=labs_dir or locations.labs_dir(),
                    quizzes_dir=quizzes_dir or locations.quizzes_dir(),
                    endpoint=endpoint, connect=connect, startup_warning=startup_warning)
