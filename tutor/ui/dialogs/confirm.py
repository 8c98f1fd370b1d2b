"""A yes/no question in a modal dialog; dismisses with True (confirm) or False."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ConfirmDialog(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: 72; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmDialog .dialog-title { text-style: bold; color: $warning; padding-bottom: 1; }
    ConfirmDialog .dialog-body { padding-bottom: 1; }
    ConfirmDialog Horizontal { height: auto; align: right middle; }
    ConfirmDialog Button { margin-left: 2; }
    """
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, title: str, body: str, confirm: str = "Yes", cancel: str = "No",
                 *, danger: bool = False) -> None:
        super().__init__()
        self.title_text, self.body, self.confirm, self.cancel = title, body, confirm, cancel
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.body, classes="dialog-body", markup=False)
            with Horizontal():
                yield Button(f"{self.cancel} (n)", id="cancel")
                yield Button(f"{self.confirm} (y)", id="confirm",
                             variant="error" if self.danger else "primary")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def if_confirmed(action: Callable[[], object]) -> Callable[[bool | None], None]:
    """A `push_screen` callback that runs `action` when the learner said yes."""

    def callback(yes: bool | None) -> None:
        if yes:
            action()

    return callback
