"""The base of the screens: a current connection bar, worker failures on one path."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tutor.ui.widgets.connection import ConnectionBar

if TYPE_CHECKING:
    from tutor.ui.app import TutorApp
    from tutor.ui.course import Course


class TutorScreen(Screen[None]):
    # Workers in these groups stop what the learner was doing: their failure is a dialog.
    BLOCKING_GROUPS: ClassVar[frozenset[str]] = frozenset()
    # False where LocalStack plays no part (a timed exam): losing it is a toast there,
    # not a restart dialog in the way, and ctrl+r waits for the next screen.
    USES_LOCALSTACK: ClassVar[bool] = True
    BINDINGS = [Binding("exclamation_mark", "report_problem", "Report a problem",
                        show=False)]

    @property
    def tutor(self) -> TutorApp:
        return self.app  # type: ignore[return-value]

    @property
    def course(self) -> Course:
        return self.tutor.course

    def on_screen_resume(self) -> None:
        for bar in self.query(ConnectionBar):
            bar.state = self.tutor.connection

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.worker_failed(event.worker)  # first: it may leave this screen
            self.tutor.show_error(event.worker.error,
                                  blocking=event.worker.group in self.BLOCKING_GROUPS)

    def report_item(self) -> str | None:
        """What `!` reports a problem with here: a question id or LAB/STEP (override)."""
        return None

    def action_report_problem(self) -> None:
        from tutor.ui.dialogs.report_problem import ReportProblemDialog

        item = self.report_item()
        if item is None:
            self.notify("Open a question or a lab step first: ! reports a problem with "
                        "what is on screen", title="Report a problem")
            return
        def send(note: str | None) -> None:
            if note:
                self.send_report(item, note)

        self.app.push_screen(ReportProblemDialog(item), send)

    @work(thread=True, group="report", exit_on_error=False)
    def send_report(self, item: str, note: str) -> None:
        from tutor.engine.problems import report_problem

        found = report_problem(self.course.store(), item, note, self.course.labs_dir,
                               self.course.quizzes_dir)
        self.app.call_from_thread(
            self.notify, f"Your report on {found.id} is saved; `tutor report` carries it to "
            "your teacher", title="Problem reported")

    def worker_failed(self, worker: Worker[object]) -> None:
        """Put the screen back in a usable state after a worker failed (override)."""
