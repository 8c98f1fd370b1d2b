"""The right side of the lab screen: the selected step, the lab's overview, its README."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Markdown, TabbedContent, TabPane

PAGES = ("step", "overview", "readme")


class Page(VerticalScroll):
    """One page of the brief, rendered once; while focused the keys scroll it.

    Textual restyles a widget's whole subtree when its focus changes. Under a README that
    is hundreds of Markdown blocks, about 0.2 s on every page switch, and nothing below a
    page is styled by the page's focus: only the page itself is restyled here."""

    def watch_has_focus(self, _has_focus: bool) -> None:
        self.app.stylesheet.update_nodes([self], animate=True)


class LabBrief(Vertical):
    """Attributes down: the screen hands it Markdown; it never reads the lab itself."""

    DEFAULT_CSS = """
    LabBrief, LabBrief TabbedContent { height: 1fr; }
    LabBrief TabPane { padding: 0; }
    LabBrief Page { height: 1fr; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with TabbedContent():
            for tab, title in zip(PAGES, ("Step", "Overview", "README"), strict=True):
                with TabPane(title, id=f"tab-{tab}"), Page(id=f"page-{tab}"):
                    yield Markdown("", id=tab if tab != "step" else "step-detail")

    def show_step(self, markdown: str) -> None:
        self.query_one("#step-detail", Markdown).update(markdown)

    def set_pages(self, overview: str, readme: str) -> None:
        self.query_one("#overview", Markdown).update(overview)
        self.query_one("#readme", Markdown).update(readme)

    @property
    def active(self) -> str:
        return self.query_one(TabbedContent).active

    @property
    def page(self) -> str:
        """The page shown: one of PAGES."""
        return self.active.removeprefix("tab-")

    def reveal(self, page: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{page}"

    def scroller(self, page: str) -> Page:
        return self.query_one(f"#page-{page}", Page)
