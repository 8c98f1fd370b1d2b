"""Reporting a problem with the question or the lab step on screen: the learner's note."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from tutor.ui.widgets.in_order import InOrderInput


class ReportProblemDialog(ModalScreen[str | None]):
    """Dismisses with the note, or None when cancelled."""

    DEFAULT_CSS = """
    ReportProblemDialog { align: center middle; }
    ReportProblemDialog > Vertical {
        width: 76; max-width: 100%; height: auto; border: thick $warning;
        background: $surface; padding: 1 2;
    }
    ReportProblemDialog .dialog-title { text-style: bold; padding-bottom: 1; }
    ReportProblemDialog #report-problem-empty { color: $error; height: auto; }
    ReportProblemDialog .dialog-help { color: $text-muted; padding-top: 1; width: 100%; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, item: str) -> None:
        super().__init__()
        self.item = item

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Report a problem with {self.item}", classes="dialog-title",
                        markup=False)
            yield InOrderInput(placeholder="what looks wrong, and why", id="report-problem-note")
            yield Label("", id="report-problem-empty", markup=False)
            yield Label("enter: send · escape: cancel\nKept with your progress and the "
                        "content version; `tutor report` carries it to your teacher.",
                        classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.query_one("#report-problem-empty", Label).update(
                "Say what looks wrong first (or escape to cancel).")
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
