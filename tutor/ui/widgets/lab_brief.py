"""The right side of the lab screen: the selected step, the lab's overview, its README."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Markdown, TabbedContent, TabPane


class LabBrief(Vertical):
    """Attributes down: the screen hands it Markdown; it never reads the lab itself."""

    DEFAULT_CSS = """
    LabBrief, LabBrief TabbedContent { height: 1fr; }
    LabBrief TabPane { padding: 0; }
    LabBrief VerticalScroll { height: 1fr; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with TabbedContent():
            for tab, title in (("step", "Step"), ("overview", "Overview"),
                               ("readme", "README")):
                with TabPane(title, id=f"tab-{tab}"), VerticalScroll():
                    yield Markdown("", id=tab if tab != "step" else "step-detail")

    def show_step(self, markdown: str) -> None:
        self.query_one("#step-detail", Markdown).update(markdown)

    def set_pages(self, overview: str, readme: str) -> None:
        self.query_one("#overview", Markdown).update(overview)
        self.query_one("#readme", Markdown).update(readme)

    @property
    def active(self) -> str:
        return self.query_one(TabbedContent).active

    def reveal(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"
