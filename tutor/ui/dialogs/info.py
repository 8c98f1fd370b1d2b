"""A dialog that reports something worth reading (e.g. what a reset deleted)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Markdown


class InfoDialog(ModalScreen[None]):
    DEFAULT_CSS = """
    InfoDialog { align: center middle; }
    InfoDialog > Vertical {
        width: 84; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    InfoDialog .dialog-title { text-style: bold; color: $primary; }
    InfoDialog VerticalScroll { height: auto; max-height: 24; }
    InfoDialog Button { width: 100%; }
    """
    BINDINGS = [Binding("escape,enter", "close", "Close")]

    def __init__(self, title: str, markdown: str) -> None:
        super().__init__()
        self.title_text = title
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll():
                yield Markdown(self.markdown, id="info-body")
            yield Button("OK", variant="primary", id="ok")

    def on_button_pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
