"""A blocking error: what went wrong, and what to do about it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from tutor.errors import TutorError


class ErrorDialog(ModalScreen[None]):
    DEFAULT_CSS = """
    ErrorDialog { align: center middle; }
    ErrorDialog > Vertical {
        width: 80; height: auto; max-height: 90%;
        border: thick $error; background: $surface; padding: 1 2;
    }
    ErrorDialog .dialog-title { text-style: bold; color: $error; padding-bottom: 1; }
    ErrorDialog .error-fix { color: $text-muted; padding: 1 0; }
    ErrorDialog Button { width: 100%; }
    """
    BINDINGS = [Binding("escape,enter", "close", "Close")]

    def __init__(self, error: TutorError) -> None:
        super().__init__()
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.error.title, classes="dialog-title")
            yield Static(self.error.message, classes="error-message", markup=False)
            if self.error.fix:
                yield Static(f"What to do: {self.error.fix}", classes="error-fix",
                             markup=False)
            yield Button("Close", variant="error", id="close")

    def on_button_pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
