"""Setting the exam date (YYYY-MM-DD, empty clears it): reviews are planned to finish before it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from tutor.engine.quiz.srs import parse_exam_date
from tutor.errors import TutorError
from tutor.ui.widgets.in_order import InOrderInput


class ExamDateDialog(ModalScreen[str | None]):
    """Dismisses with the date text ('' to clear), or None when cancelled."""

    DEFAULT_CSS = """
    ExamDateDialog { align: center middle; }
    ExamDateDialog > Vertical {
        width: 64; max-width: 100%; height: auto; border: thick $primary;
        background: $surface; padding: 1 2;
    }
    ExamDateDialog .dialog-title { text-style: bold; padding-bottom: 1; }
    ExamDateDialog #exam-date-problem { color: $error; height: auto; }
    ExamDateDialog .dialog-help { color: $text-muted; padding-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str | None) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("When is your exam?", classes="dialog-title")
            yield InOrderInput(self.current or "", placeholder="YYYY-MM-DD, e.g. 2026-12-15",
                        id="exam-date")
            yield Label("", id="exam-date-problem", markup=False)
            yield Label("enter: save · empty + enter: clear · escape: cancel\nEvery review "
                        "card comes up once more before the day.", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            try:
                parse_exam_date(text)
            except TutorError as exc:
                self.query_one("#exam-date-problem", Label).update(exc.one_line())
                return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
