"""Per-domain results as horizontal bars (plain Content, no plotting package)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from tutor.engine.quiz.sessions import DomainScore

BAR = 20
PASS_PERCENT = 72  # the per-domain share that matches the pass mark overall


class DomainBars(Static):
    DEFAULT_CSS = """
    DomainBars { height: auto; padding: 1 0; }
    """

    def __init__(self, domains: list[DomainScore], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.domains = domains

    def on_mount(self) -> None:
        self.update(self.render_bars())

    def render_bars(self) -> Content:
        width = max((len(d.name) for d in self.domains), default=10)
        lines = []
        for d in self.domains:
            if not d.total:
                lines.append(Content.from_markup("$n  [$text-muted]no questions drawn[/]",
                                                 n=d.name.ljust(width)))
                continue
            filled = round(BAR * d.correct / d.total)
            colour = "$success" if d.percent >= PASS_PERCENT else "$error"
            lines.append(Content.assemble(
                d.name.ljust(width) + "  ",
                Content.styled("█" * filled, colour),
                Content.styled("░" * (BAR - filled), "$text-muted"),
                f" {d.percent:5.1f}%  ({d.correct}/{d.total})"))
        return Content("\n").join(lines)
