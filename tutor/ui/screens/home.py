"""The home screen: labs and quiz banks found on disk, and the connection state."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label

from tutor.engine.catalog import Entry
from tutor.ui.widgets.connection import ConnectionBar


class HomeScreen(Screen[None]):
    BINDINGS = [
        Binding("l", "focus_labs", "Labs"),
        Binding("b", "focus_banks", "Quiz banks"),
        Binding("r", "refresh", "Refresh"),
    ]

    class Opened(Message):
        """The learner chose a lab or a quiz bank."""

        def __init__(self, kind: str, entry: Entry) -> None:
            super().__init__()
            self.kind = kind
            self.entry = entry

    def __init__(self, labs: list[Entry], banks: list[Entry]) -> None:
        super().__init__()
        self.labs = labs
        self.banks = banks

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="home-panes"):
            with Vertical(id="labs-pane", classes="pane"):
                yield Label(f"Labs ({len(self.labs)})", classes="pane-title", id="labs-title")
                yield DataTable(id="labs", cursor_type="row", zebra_stripes=True)
            with Vertical(id="banks-pane", classes="pane"):
                yield Label(f"Quiz banks ({len(self.banks)})", classes="pane-title",
                            id="banks-title")
                yield DataTable(id="banks", cursor_type="row", zebra_stripes=True)
        yield ConnectionBar(id="connection")
        yield Footer()

    def on_mount(self) -> None:
        labs = self.query_one("#labs", DataTable)
        labs.add_columns("#", "Lab", "Pattern")
        banks = self.query_one("#banks", DataTable)
        banks.add_columns("Bank", "Questions")
        self.fill(self.labs, self.banks)
        labs.focus()

    def fill(self, labs: list[Entry], banks: list[Entry]) -> None:
        self.labs, self.banks = labs, banks
        lab_table = self.query_one("#labs", DataTable)
        lab_table.clear()
        for entry in labs:
            number = entry.path.name.split("-", 1)[0]
            title = entry.title if not entry.problem else f"⚠ {entry.problem}"
            lab_table.add_row(number, title, entry.summary, key=entry.id)
        bank_table = self.query_one("#banks", DataTable)
        bank_table.clear()
        for entry in banks:
            title = entry.title if not entry.problem else f"⚠ {entry.problem}"
            bank_table.add_row(title, entry.summary, key=entry.id)
        self.query_one("#labs-title", Label).update(
            f"Labs ({len(labs)})" if labs else "Labs (none found in labs/)")
        self.query_one("#banks-title", Label).update(
            f"Quiz banks ({len(banks)})" if banks else "Quiz banks (none found in quizzes/)")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if event.data_table.id == "labs":
            entries, kind = self.labs, "lab"
        else:
            entries, kind = self.banks, "bank"
        for entry in entries:
            if entry.id == key:
                self.post_message(self.Opened(kind, entry))
                return

    def action_focus_labs(self) -> None:
        self.query_one("#labs", DataTable).focus()

    def action_focus_banks(self) -> None:
        self.query_one("#banks", DataTable).focus()

    def action_refresh(self) -> None:
        self.app.call_later(self.app.action_refresh_catalog)  # type: ignore[attr-defined]
