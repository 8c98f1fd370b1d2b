"""The reference solution's files, read-only, one tab per file."""

from __future__ import annotations

from pathlib import PurePath

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TabbedContent, TabPane, TextArea

from tutor.engine.labs.editing import LANGUAGES


class SolutionScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    SolutionScreen { align: center middle; }
    SolutionScreen > Vertical {
        width: 95%; height: 95%; border: thick $success; background: $surface;
    }
    SolutionScreen .dialog-title { text-style: bold; color: $success; padding: 0 1; }
    SolutionScreen TabbedContent, SolutionScreen TabPane, SolutionScreen TextArea {
        height: 1fr;
    }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, title: str, files: dict[str, str]) -> None:
        super().__init__()
        self.title_text = title
        self.files = files

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self.title_text} — {len(self.files)} file(s), read-only; "
                        "escape closes", classes="dialog-title")
            with TabbedContent():
                for index, (name, text) in enumerate(sorted(self.files.items())):
                    with TabPane(name, id=f"file-{index}"):
                        language = LANGUAGES.get(PurePath(name).suffix)
                        try:
                            yield TextArea.code_editor(text, language=language, read_only=True)
                        except Exception:  # a language without its tree-sitter grammar
                            yield TextArea(text, read_only=True)

    def action_close(self) -> None:
        self.dismiss(None)
