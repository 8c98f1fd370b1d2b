"""The exam's question numbers in a grid: answered, flagged and current marked.

Arrow keys move the cursor, enter (or a click) posts `Selected`; the screen moves there.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

CELL = 6  # " 12✓⚑"


class ExamNavigator(Widget, can_focus=True):
    DEFAULT_CSS = """
    ExamNavigator { height: auto; width: 1fr; }
    ExamNavigator:focus { background: $boost; }
    """
    BINDINGS = [
        Binding("left", "move(-1)", show=False), Binding("right", "move(1)", show=False),
        Binding("up", "row(-1)", show=False), Binding("down", "row(1)", show=False),
        Binding("enter,space", "choose", "Go to", show=False),
    ]

    current: reactive[int] = reactive(0)
    cursor: reactive[int] = reactive(0)

    class Selected(Message):
        """ExamNavigator, when a question number is chosen ->
        ExamScreen.on_exam_navigator_selected."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, total: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.total = total
        self.answered: set[int] = set()
        self.flagged: set[int] = set()

    def update_marks(self, answered: set[int], flagged: set[int], current: int) -> None:
        self.answered, self.flagged = set(answered), set(flagged)
        self.current = current
        self.cursor = current
        self.refresh(layout=True)

    @property
    def per_row(self) -> int:
        return max(1, self.size.width // CELL) if self.size.width else 4

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return -(-self.total // max(1, width // CELL))

    def render(self) -> Content:
        cells: list[Content] = []
        for i in range(self.total):
            mark = ("✓" if i in self.answered else " ") + ("⚑" if i in self.flagged else " ")
            style = "$text-muted"
            if i in self.answered:
                style = "$success"
            if i in self.flagged:
                style = "$warning"
            if i == self.current:
                style = "reverse b " + style
            elif i == self.cursor and self.has_focus:
                style = "underline " + style
            cells.append(Content.styled(f"{i + 1:>3}{mark}", style))
            cells.append(Content("\n" if (i + 1) % self.per_row == 0 else " "))
        return Content.assemble(*cells)

    def action_move(self, step: int) -> None:
        self.cursor = max(0, min(self.total - 1, self.cursor + step))

    def action_row(self, step: int) -> None:
        self.action_move(step * self.per_row)

    def action_choose(self) -> None:
        self.post_message(self.Selected(self.cursor))

    def on_click(self, event: events.Click) -> None:
        index = event.y * self.per_row + event.x // CELL
        if 0 <= index < self.total:
            self.cursor = index
            self.post_message(self.Selected(index))
