"""The base of the screens: a current connection bar, worker failures on one path."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

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

    def worker_failed(self, worker: Worker[object]) -> None:
        """Put the screen back in a usable state after a worker failed (override)."""
