"""The baseline bench_ui compares the tutor with: a bare Textual app, nothing of the tutor.

`python bench/bare_textual.py STEP.md README.md` shows the step's Markdown, and `m` switches
to the README's Markdown and back, as the tutor's lab screen does; both pages are rendered
once and switching shows the other (a ContentSwitcher). Same terminal, same text, same key:
what the tutor costs on top of this is its own. Without arguments it shows one line,
"Labs", under a header and above a footer: the first paint of the least a Textual app
draws, beside the tutor's home screen.
"""

from __future__ import annotations

import sys
from pathlib import Path

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import ContentSwitcher, Footer, Header, Markdown, Static


class MinimalApp(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Labs")
        yield Footer()


class BareApp(App[None]):
    BINDINGS = [("m", "switch", "README"), ("q", "quit", "Quit")]

    def __init__(self, step: str, readme: str) -> None:
        super().__init__()
        self.step, self.readme = step, readme

    def compose(self) -> ComposeResult:
        yield Header()
        with ContentSwitcher(initial="step"):
            with VerticalScroll(id="step"):
                yield Markdown(self.step)
            with VerticalScroll(id="readme"):
                yield Markdown(self.readme)
        yield Footer()

    def action_switch(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        switcher.current = "readme" if switcher.current == "step" else "step"


def main() -> None:
    if len(sys.argv) < 3:
        MinimalApp().run()
        return
    step, readme = (Path(arg).read_text() for arg in sys.argv[1:3])
    BareApp(step, readme).run()


if __name__ == "__main__":
    main()
