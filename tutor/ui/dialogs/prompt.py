"""One line of input for the editor: a line number to go to, or text to find."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from tutor.ui.widgets.in_order import InOrderInput


class PromptDialog(ModalScreen[str | None]):
    """Dismisses with the text typed (enter), or None (escape)."""

    DEFAULT_CSS = """
    PromptDialog { align: center middle; }
    PromptDialog > Vertical {
        width: 60; max-width: 100%; height: auto; border: thick $primary;
        background: $surface; padding: 1 2;
    }
    PromptDialog .dialog-title { text-style: bold; padding-bottom: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str = "", value: str = "") -> None:
        super().__init__()
        self.title_text, self.placeholder, self.value = title, placeholder, value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield InOrderInput(self.value, placeholder=self.placeholder, id="prompt")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
