"""The home screen: labs and quiz banks with progress, reviews due, the exam countdown,
progress by exam pointer, and the LocalStack connection."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Header, Label, Static

from tutor.ui.progress_summary import BankFigures, HomeSummary
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.connection import ConnectionBar
from tutor.ui.widgets.footer import Footer

if TYPE_CHECKING:
    from tutor.engine.catalog import Entry
    from tutor.ui.dialogs.quiz_chooser import QuizChoice

LAB_TITLE, BANK_TITLE = 29, 24
NARROW = 118  # columns below which the two panes stack


def clip(text: str, width: int) -> str:
    """The headline of a title (before any " — "), cut to `width` with an ellipsis."""
    head = text.split(" — ", 1)[0]
    return head if len(head) <= width else head[: width - 1].rstrip() + "…"


class HomeScreen(TutorScreen):
    BINDINGS = [
        Binding("l", "focus_labs", "Labs"),
        Binding("b", "focus_banks", "Quizzes"),
        Binding("v", "review", "Review"),
        Binding("p", "progress", "Progress"),
        Binding("e", "exam_date", "Exam date"),
        Binding("x", "resume_exam", "Resume exam", show=False),
        Binding("r", "refresh", "Refresh", show=False),
    ]
    BLOCKING_GROUPS = frozenset({"quiz"})

    class ProgressLoaded(Message):
        """HomeScreen.load_progress (worker) -> on_home_screen_progress_loaded: lab lines,
        bank figures, topics."""

        def __init__(self, labs: dict[str, str], banks: dict[str, BankFigures],
                     topics: list[tuple[str, int]] | None = None) -> None:
            super().__init__()
            self.labs = labs
            self.banks = banks
            self.topics = topics

    class SummaryLoaded(Message):
        """HomeScreen.load_progress (worker) -> on_home_screen_summary_loaded: the summary
        lines."""

        def __init__(self, summary: HomeSummary) -> None:
            super().__init__()
            self.summary = summary

    class CatalogRead(Message):
        """HomeScreen.read_catalog (worker) -> on_home_screen_catalog_read: fills both
        tables; the labs come first (`complete` False: the banks are still being read)."""

        def __init__(self, labs: list[Entry], banks: list[Entry], complete: bool = True) -> None:
            super().__init__()
            self.labs = labs
            self.banks = banks
            self.complete = complete

    class QuizReady(Message):
        """HomeScreen.start_quiz / start_review (workers) -> on_home_screen_quiz_ready:
        pushes the quiz screen."""

        def __init__(self, session: object, title: str) -> None:
            super().__init__()
            self.session = session
            self.title = title

    def __init__(self, labs: list[Entry] | None = None,
                 banks: list[Entry] | None = None) -> None:
        super().__init__()
        self.loaded = labs is not None and banks is not None  # else read in a worker
        self.labs = labs or []
        self.banks = banks or []
        self.figures: dict[str, BankFigures] = {}
        self.topics: list[tuple[str, int]] | None = None
        self.lab_lines: dict[str, str] = {}
        self.summary: HomeSummary | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Reviews due: … · Exam: … · Exam pointers: …", id="home-summary",
                     markup=False)
        # Stacked or side by side from the first frame (a class set on resize restyles all)
        narrow = "-narrow" if self.app.size.width < NARROW else ""
        with Horizontal(id="home-panes", classes=narrow):
            with Vertical(id="labs-pane", classes="pane"):
                yield Label("Labs (reading labs/ …)", classes="pane-title", id="labs-title")
                yield DataTable(id="labs", cursor_type="row", zebra_stripes=True)
            with Vertical(id="banks-pane", classes="pane"):
                yield Label("Quiz banks (reading quizzes/ …)", classes="pane-title",
                            id="banks-title")
                yield DataTable(id="banks", cursor_type="row", zebra_stripes=True)
        yield ConnectionBar(id="connection", hint=True)
        yield Footer(compact=True)  # every key fits 80 columns

    def on_mount(self) -> None:
        self._add_columns()
        self.query_one("#labs", DataTable).focus()
        if self.loaded:
            self.fill(self.labs, self.banks)
        else:
            self.read_catalog()

    def _add_columns(self) -> None:
        """The tables' columns, from scratch: an auto column keeps the widest cell it
        ever held, so titles clipped for one layout would overflow the other."""
        labs = self.query_one("#labs", DataTable)
        labs.clear(columns=True)
        labs.add_column("#", key="number")
        labs.add_column("Lab", key="title")
        # Fixed widths: Textual 8.2.8 widens an auto column only when idle and can keep a
        # line drawn before that cut short ("not star"; Textualize/textual#3533).
        labs.add_column("Progress", key="progress", width=21)
        banks = self.query_one("#banks", DataTable)
        banks.clear(columns=True)
        banks.add_column("Bank", key="title")
        banks.add_column("Questions", key="count")
        banks.add_column("Right", key="accuracy", width=11)  # "100% of 205"
        banks.add_column("Due", key="due", width=4)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.loaded:  # back from a lab or a quiz: the figures changed
            self.load_progress()

    @work(thread=True, exclusive=True, group="catalog", exit_on_error=False)
    def read_catalog(self) -> None:
        from tutor.engine import catalog

        labs = catalog.labs(self.course.labs_dir)  # a few lab.yaml files: listed at once
        self.post_message(self.CatalogRead(labs, [], complete=False))
        self.post_message(self.CatalogRead(labs, catalog.banks(self.course.quizzes_dir)))

    def on_home_screen_catalog_read(self, message: CatalogRead) -> None:
        self.loaded = message.complete
        self.fill(message.labs, message.banks)
        if message.complete:
            self.load_progress()

    def on_resize(self, event: events.Resize) -> None:
        # Below NARROW columns the panes stack, and each gets the whole width.
        narrow = event.size.width < NARROW
        if narrow != self.query_one("#home-panes").has_class("-narrow"):
            self.query_one("#home-panes").set_class(narrow, "-narrow")
            tables = list(self.query(DataTable))
            rows = [table.cursor_row for table in tables]
            self._add_columns()
            self.fill(self.labs, self.banks)
            for table, row in zip(tables, rows, strict=True):
                table.move_cursor(row=row)  # the learner's place survives the resize

    def fill(self, labs: list[Entry], banks: list[Entry]) -> None:
        self.labs, self.banks = labs, banks
        wide = 1.6 if self.query_one("#home-panes").has_class("-narrow") else 1.0
        lab_table = self.query_one("#labs", DataTable)
        lab_table.clear()
        for entry in labs:
            number = entry.path.name.split("-", 1)[0]
            title = entry.title if not entry.problem else f"⚠ {entry.problem}"
            progress = "—" if entry.problem else self.lab_lines.get(entry.id, "…")
            lab_table.add_row(number, clip(title, int(LAB_TITLE * wide)), progress,
                              key=entry.id)
        bank_table = self.query_one("#banks", DataTable)
        bank_table.clear()
        for entry in banks:
            title = entry.title if not entry.problem else f"⚠ {entry.problem}"
            figures = self.figures.get(entry.id)
            bank_table.add_row(clip(title, int(BANK_TITLE * wide)), entry.summary,
                               figures.accuracy if figures else "…",
                               str(figures.due) if figures else "…", key=entry.id)
        self.query_one("#labs-title", Label).update(
            f"Labs ({len(labs)})" if labs else "Labs (none found in labs/)")
        self.query_one("#banks-title", Label).update(
            f"Quiz banks ({len(banks)}) · enter: practice, topic, exam, review" if banks
            else "Quiz banks (none found in quizzes/)" if self.loaded
            else "Quiz banks (reading quizzes/ …)")

    @work(thread=True, exclusive=True, group="progress", exit_on_error=False)
    def load_progress(self) -> None:
        from tutor.ui.progress_summary import bank_figures, home_summary, lab_line

        store = self.course.store()
        labs = {e.id: lab_line(store, e) for e in self.labs if not e.problem}
        self.post_message(self.ProgressLoaded(labs, {}))  # even if a bank turns out invalid
        banks = self.course.banks()
        topics = Counter(tag for bank in banks for q in bank.questions for tag in q.tags)
        self.post_message(self.ProgressLoaded({}, bank_figures(store, banks),
                                              sorted(topics.items())))
        self.post_message(self.SummaryLoaded(home_summary(store, banks,
                                                          self.course.labs_dir)))

    def on_home_screen_progress_loaded(self, message: ProgressLoaded) -> None:
        lab_table = self.query_one("#labs", DataTable)
        self.lab_lines.update(message.labs)
        for lab_id, line in message.labs.items():
            if lab_id in lab_table.rows:
                lab_table.update_cell(lab_id, "progress", line, update_width=True)
        bank_table = self.query_one("#banks", DataTable)
        self.figures.update(message.banks)
        self.topics = message.topics or self.topics
        for bank_id, figures in message.banks.items():
            if bank_id in bank_table.rows:
                bank_table.update_cell(bank_id, "accuracy", figures.accuracy, update_width=True)
                bank_table.update_cell(bank_id, "due", str(figures.due))

    def on_home_screen_summary_loaded(self, message: SummaryLoaded) -> None:
        self.summary = message.summary
        self.query_one("#home-summary", Static).update(message.summary.text())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        entries = self.labs if event.data_table.id == "labs" else self.banks
        entry = next((e for e in entries if e.id == key), None)
        if entry is None:
            return
        if entry.problem:
            self.notify(entry.problem, title="Cannot open", severity="error", markup=False)
        elif event.data_table.id == "labs":
            from tutor.ui.screens.lab import LabScreen

            self.app.push_screen(LabScreen(entry))
        else:
            from tutor.ui.dialogs.quiz_chooser import QuizChooser

            due = sum(f.due for f in self.figures.values())
            self.app.push_screen(QuizChooser(entry, due, self.topics), self.chosen)

    def chosen(self, choice: QuizChoice | None) -> None:
        if choice is not None:
            self.start_quiz(choice)

    @work(thread=True, exclusive=True, group="quiz", exit_on_error=False)
    def start_quiz(self, choice: QuizChoice) -> None:
        from tutor.ui.quiz_launch import build_session

        session, title = build_session(choice, self.course)
        self.post_message(self.QuizReady(session, title))

    def on_home_screen_quiz_ready(self, message: QuizReady) -> None:
        from tutor.engine.quiz.sessions import ExamSession
        from tutor.ui.screens.exam import ExamScreen
        from tutor.ui.screens.practice import PracticeScreen

        if isinstance(message.session, ExamSession) and message.session.result is not None:
            from tutor.ui.screens.exam_results import ExamResultsScreen

            self.notify("The exam's time ran out while the tutor was closed: it is scored "
                        "as submitted", title="Exam over")
            self.app.push_screen(ExamResultsScreen(message.session.result, message.session))
        elif isinstance(message.session, ExamSession):
            self.app.push_screen(ExamScreen(message.session))
        else:
            self.app.push_screen(PracticeScreen(message.session, message.title))  # type: ignore[arg-type]

    # set_focus, not focus(): focus() waits a refresh, and an enter typed right after
    # `l` would go to the table focused before.
    def action_focus_labs(self) -> None:
        self.set_focus(self.query_one("#labs", DataTable))

    def action_focus_banks(self) -> None:
        self.set_focus(self.query_one("#banks", DataTable))

    def action_review(self) -> None:
        from tutor.ui.dialogs.quiz_chooser import QuizChoice

        self.start_review(QuizChoice("review", count=20))

    @work(thread=True, exclusive=True, group="review", exit_on_error=False)
    def start_review(self, choice: QuizChoice) -> None:
        # Its own group: "nothing is due" is a toast, not a blocking dialog.
        from tutor.ui.quiz_launch import build_session

        session, title = build_session(choice, self.course)
        self.post_message(self.QuizReady(session, title))

    def action_resume_exam(self) -> None:
        from tutor.ui.dialogs.quiz_chooser import QuizChoice

        self.start_quiz(QuizChoice("resume"))

    def action_progress(self) -> None:
        from tutor.ui.screens.progress import ProgressScreen

        self.app.push_screen(ProgressScreen())

    def action_exam_date(self) -> None:
        from tutor.ui.dialogs.exam_date import ExamDateDialog

        current = self.summary.exam_date if self.summary else None
        self.app.push_screen(ExamDateDialog(current), self.exam_date_chosen)

    def exam_date_chosen(self, text: str | None) -> None:
        if text is not None:
            self.save_exam_date(text)

    @work(thread=True, exclusive=True, group="settings", exit_on_error=False)
    def save_exam_date(self, text: str) -> None:
        from tutor.engine.overview import set_exam_date

        when = set_exam_date(self.course.store(), text)
        self.app.call_from_thread(
            self.notify, f"Exam date set to {when.isoformat()}: reviews are scheduled to "
            "finish the day before" if when else "Exam date cleared", title="Exam date")
        self.app.call_from_thread(self.load_progress)

    def action_refresh(self) -> None:
        self.course.forget_banks()
        self.read_catalog()
