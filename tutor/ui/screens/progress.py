"""The Progress screen: per lab, per exam pointer, past exams, and the review cards due."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Header, Label, TabbedContent, TabPane

from tutor.engine.overview import DueCard, LabRow, PointerRow
from tutor.ui.progress_summary import when
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.connection import ConnectionBar
from tutor.ui.widgets.footer import Footer

BAR = 10
TABS = ("labs", "pointers", "exams", "due")


def bar(rate: float | None) -> Content:
    """A ten-cell bar of the right-answer rate ('no answers' before the first)."""
    if rate is None:
        return Content.styled("·" * BAR, "$text-muted")
    filled = round(BAR * rate)
    colour = "$success" if rate >= 0.72 else "$warning" if rate >= 0.5 else "$error"
    return Content.assemble(Content.styled("█" * filled, colour),
                            Content.styled("░" * (BAR - filled), "$text-muted"))


def clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


@dataclass(frozen=True)
class Standing:
    labs: list[LabRow]
    pointers: list[PointerRow]
    exams: list[dict[str, object]]
    due: list[DueCard]
    now: float


class ProgressScreen(TutorScreen):
    DEFAULT_CSS = """
    ProgressScreen TabbedContent { height: 1fr; }
    ProgressScreen TabPane { padding: 0 1; }
    ProgressScreen .tab-note { color: $text-muted; height: auto; }
    ProgressScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Home"),
        Binding("1", "tab('labs')", "Labs"),
        Binding("2", "tab('pointers')", "Pointers"),
        Binding("3", "tab('exams')", "Exams"),
        Binding("4", "tab('due')", "Due"),
        Binding("v", "review", "Review due"),
    ]
    class Loaded(Message):
        """ProgressScreen's loading worker -> on_progress_screen_loaded: fills the tabs."""

        def __init__(self, standing: Standing) -> None:
            super().__init__()
            self.standing = standing

    class QuizReady(Message):
        """ProgressScreen's review worker -> on_progress_screen_quiz_ready: pushes the
        review."""

        def __init__(self, session: object, title: str) -> None:
            super().__init__()
            self.session = session
            self.title = title

    def __init__(self) -> None:
        super().__init__()
        self.standing: Standing | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="progress-tabs"):
            with TabPane("Labs (1)", id="labs"):
                yield Label("Reading your progress …", classes="tab-note", id="labs-note")
                yield DataTable(id="labs-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Exam pointers (2)", id="pointers"):
                yield Label("", classes="tab-note", id="pointers-note")
                yield DataTable(id="pointers-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Exams (3)", id="exams"):
                yield Label("", classes="tab-note", id="exams-note")
                yield DataTable(id="exams-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Due (4)", id="due"):
                yield Label("", classes="tab-note", id="due-note")
                yield DataTable(id="due-table", cursor_type="row", zebra_stripes=True)
        yield ConnectionBar()
        yield Footer(compact=True)  # every key fits 80 columns

    def on_mount(self) -> None:
        self.sub_title = "Progress"
        columns = {
            "labs-table": ("#", "Lab", "Steps", "Score", "Checks", "Status"),
            "pointers-table": ("Exam pointer", "Quiz", "Right", "Rate", "Lab steps"),
            "exams-table": ("Date", "Exam", "Score", "Result"),
            "due-table": ("Due", "Bank", "Question"),
        }
        for table_id, names in columns.items():
            table = self.query_one(f"#{table_id}", DataTable)
            for name in names:  # a bar's width is not measured from its Content
                table.add_column(name, key=name, width=BAR if name == "Rate" else None)
        self.query_one("#labs-table", DataTable).focus()
        self.load()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.standing is not None:  # back from a review: the cards moved
            self.load()

    @work(thread=True, exclusive=True, group="progress", exit_on_error=False)
    def load(self) -> None:
        from tutor.engine import overview
        from tutor.engine.quiz.stats import quiz_stats

        store, banks = self.course.store(), self.course.banks()
        labs_dir = self.course.labs_dir
        self.post_message(self.Loaded(Standing(
            overview.lab_rows(store, labs_dir), overview.pointer_rows(store, banks, labs_dir),
            quiz_stats(store, banks)["exams"], overview.due_cards(store, banks), time.time())))

    def on_progress_screen_loaded(self, message: Loaded) -> None:
        self.standing = s = message.standing
        self.fill_labs(s.labs)
        self.fill_pointers(s.pointers)
        self.fill_exams(s.exams)
        self.fill_due(s.due, s.now)

    def fill_labs(self, labs: list[LabRow]) -> None:
        table = self.query_one("#labs-table", DataTable)
        table.clear()
        for row in labs:
            table.add_row(row.id.split("-", 1)[0], clip(row.title.split(" — ")[0], 34),
                          f"{row.passed}/{row.steps}", f"{row.score:.0%}", str(row.attempts),
                          row.status, key=row.id)
        done = sum(r.completed for r in labs)
        self.query_one("#labs-note", Label).update(
            f"{done} of {len(labs)} labs complete · score: mean best per step · checks: runs"
            if labs else "No labs found.")

    def fill_pointers(self, pointers: list[PointerRow]) -> None:
        table = self.query_one("#pointers-table", DataTable)
        table.clear()
        # The ones to work on first: answered and weak, then untouched, then strong.
        order = sorted(pointers, key=lambda r: (r.rate is None, r.rate or 0.0, r.pointer))
        for row in order:
            table.add_row(row.pointer, str(row.answered) if row.answered else "—",
                          f"{row.rate:.0%}" if row.rate is not None else "—", bar(row.rate),
                          f"{row.steps_passed}/{row.steps}" if row.steps else "—",
                          key=row.pointer)
        touched = sum(r.touched for r in pointers)
        self.query_one("#pointers-note", Label).update(
            f"{touched} of {len(pointers)} practised · weakest first · lab steps: passed/all")

    def fill_exams(self, exams: list[dict[str, object]]) -> None:
        table = self.query_one("#exams-table", DataTable)
        table.clear()
        finished = [e for e in exams if e.get("scaled_score") is not None]
        for number, e in enumerate(reversed(finished)):
            started = datetime.fromtimestamp(float(str(e["started_at"])))
            result = Content.styled("PASS", "$success") if e["passed"] else \
                Content.styled("FAIL", "$error")
            table.add_row(started.strftime("%Y-%m-%d %H:%M"), str(e["exam"]).upper(),
                          f"{e['scaled_score']} / 1000", result, key=str(number))
        passed = sum(1 for e in finished if e["passed"])
        self.query_one("#exams-note", Label).update(
            f"{len(finished)} exam{'s' if len(finished) != 1 else ''} taken, {passed} passed "
            "(720 of 1000 needed), newest first"
            if finished else "No exams yet: open a quiz bank (enter on home) and pick an exam.")

    def fill_due(self, cards: list[DueCard], now: float) -> None:
        table = self.query_one("#due-table", DataTable)
        table.clear()
        for card in cards:
            table.add_row(when(card.due, now), card.bank, clip(card.prompt, 50),
                          key=card.question_id)
        due = sum(1 for c in cards if c.due <= now)
        self.query_one("#due-note", Label).update(
            f"{due} due now, {len(cards) - due} later · v: review the due ones" if cards else
            "No review cards yet: every answered question gets one.")

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one(f"#{tab}-table", DataTable).focus()

    def action_review(self) -> None:
        from tutor.ui.dialogs.quiz_chooser import QuizChoice

        self.start_review(QuizChoice("review", count=20))

    @work(thread=True, exclusive=True, group="review", exit_on_error=False)
    def start_review(self, choice: object) -> None:
        from tutor.ui.quiz_launch import build_session

        session, title = build_session(choice, self.course)  # type: ignore[arg-type]
        self.post_message(self.QuizReady(session, title))

    def on_progress_screen_quiz_ready(self, message: QuizReady) -> None:
        from tutor.ui.screens.practice import PracticeScreen

        self.app.push_screen(PracticeScreen(message.session, message.title))  # type: ignore[arg-type]

    def action_back(self) -> None:
        self.app.pop_screen()
