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
SHORT_EXAM = 20  # questions in a drill; the full exam has the real count (65)


@dataclass(frozen=True)
class QuizChoice:
    mode: str  # practice | review | exam | mistakes | flagged | resume
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
    QuizChooser OptionList { height: auto; max-height: 12; margin-bottom: 1; }
    QuizChooser Horizontal { height: auto; }
    QuizChooser Horizontal > Label { width: 8; padding: 1 0; color: $text-muted; }
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
            options = [
                Option(f"Practice this bank — {PRACTICE_COUNT} questions, feedback after each",
                       id="practice"),
                Option("Practice a topic — pick it in the list below, from every bank",
                       id="topic")]
            for exam in EXAMS.values():
                for count in (SHORT_EXAM, exam.questions):
                    minutes = exam.minutes * count // exam.questions
                    kind = "full length" if count == exam.questions else "a short drill"
                    options.append(Option(f"Exam {exam.code} — {count} questions, {minutes} min"
                                          f" ({kind})", id=f"exam-{exam.id}-{count}"))
            options.append(Option(f"Review due cards ({self.due} due now)", id="review"))
            options.append(Option("Retake my mistakes — questions answered wrong, until "
                                  "answered right", id="mistakes"))
            options.append(Option("Retake flagged questions — the ones flagged in exams",
                                  id="flagged"))
            yield OptionList(*options, id="modes")
            with Horizontal():
                yield Label("Topic")
                yield Select([(f"{t} ({n})" if n else t, t) for t, n in self.topics],
                             prompt="choose a topic to practise", id="topic")
            yield Label("enter: start · escape: back · exams are scored 100–1000, pass at 720",
                        classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        mode = event.option.id or ""
        if mode == "practice":
            self.dismiss(QuizChoice("practice", bank=self.bank.id))
        elif mode == "topic":
            topic = self.query_one("#topic", Select)
            topic.focus()
            topic.expanded = True  # picking a topic starts the practice
        elif mode.startswith("exam-"):
            exam, count = mode.removeprefix("exam-").rsplit("-", 1)
            self.dismiss(QuizChoice("exam", exam=exam, count=int(count)))
        elif mode == "review":
            self.dismiss(QuizChoice("review", count=20))
        elif mode in ("mistakes", "flagged"):
            self.dismiss(QuizChoice(mode, count=20))

    def on_select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.dismiss(QuizChoice("practice", topic=event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
