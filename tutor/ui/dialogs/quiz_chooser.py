"""Choosing what to do with a question bank: practice, practice a topic, exam, review."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Select
from textual.widgets.option_list import Option

from tutor.engine.catalog import Entry
from tutor.engine.quiz.taxonomy import EXAMS, TAGS

PRACTICE_COUNT = 10
EXAM_LENGTHS = [(f"{n} questions, {EXAMS['saa-c03'].minutes * n // 65} min", n)
                for n in (10, 20, 65)]


@dataclass(frozen=True)
class QuizChoice:
    mode: str  # practice | review | exam
    bank: str | None = None
    topic: str | None = None
    exam: str | None = None
    count: int = PRACTICE_COUNT


class QuizChooser(ModalScreen[QuizChoice | None]):
    DEFAULT_CSS = """
    QuizChooser { align: center middle; }
    QuizChooser > Vertical {
        width: 76; height: auto; border: thick $primary; background: $surface;
        padding: 1 2;
    }
    QuizChooser .dialog-title { text-style: bold; padding-bottom: 1; }
    QuizChooser OptionList { height: auto; max-height: 9; margin-bottom: 1; }
    QuizChooser Horizontal { height: auto; }
    QuizChooser Horizontal > Label { width: 14; padding: 1 0; color: $text-muted; }
    QuizChooser Select { width: 1fr; }
    QuizChooser .dialog-help { color: $text-muted; padding-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, bank: Entry, due: int, topics: list[tuple[str, int]] | None = None
                 ) -> None:
        super().__init__()
        self.bank = bank
        self.due = due
        self.topics = topics or [(t, 0) for t in sorted(set(TAGS))]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Quiz: {self.bank.title}", classes="dialog-title")
            yield OptionList(
                Option(f"Practice this bank — {PRACTICE_COUNT} questions, feedback after each",
                       id="practice"),
                Option("Practice by topic — the topic chosen below, from every bank",
                       id="topic"),
                Option(f"Exam {EXAMS['saa-c03'].code} — timed, scored 100–1000, pass at 720",
                       id="exam-saa-c03"),
                Option(f"Exam {EXAMS['dva-c02'].code} — timed, scored 100–1000, pass at 720",
                       id="exam-dva-c02"),
                Option(f"Review due cards ({self.due} due now)", id="review"),
                id="modes")
            with Horizontal():
                yield Label("Topic")
                yield Select([(f"{t} ({n})" if n else t, t) for t, n in self.topics],
                             prompt="choose a topic", id="topic")
            with Horizontal():
                yield Label("Exam length")
                yield Select(EXAM_LENGTHS, value=20, allow_blank=False, id="length")
            yield Label("enter: start · tab: topic / length · escape: back",
                        classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        mode = event.option.id or ""
        if mode == "practice":
            self.dismiss(QuizChoice("practice", bank=self.bank.id))
        elif mode == "topic":
            topic = self.query_one("#topic", Select).value
            if not isinstance(topic, str):
                self.notify("Choose a topic first (tab to the Topic list)",
                            severity="warning")
                self.query_one("#topic", Select).focus()
                return
            self.dismiss(QuizChoice("practice", topic=topic))
        elif mode.startswith("exam-"):
            length = self.query_one("#length", Select).value
            self.dismiss(QuizChoice("exam", exam=mode.removeprefix("exam-"),
                                    count=int(length) if isinstance(length, int) else 20))
        elif mode == "review":
            self.dismiss(QuizChoice("review", count=20))

    def action_cancel(self) -> None:
        self.dismiss(None)
