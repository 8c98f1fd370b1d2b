"""A timed exam: question navigator, flags, a countdown, submit (or auto-submit at 0)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Header, Label, Static
from textual.worker import Worker

from tutor.engine.quiz.sessions import ExamResult, ExamSession
from tutor.engine.quiz.taxonomy import DOMAINS
from tutor.ui.dialogs.confirm import ConfirmDialog, if_confirmed
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.connection import ConnectionBar
from tutor.ui.widgets.countdown import LOW_SECONDS, Countdown, clock_text
from tutor.ui.widgets.exam_navigator import ExamNavigator
from tutor.ui.widgets.footer import Footer
from tutor.ui.widgets.question_view import ExamQuestionView, QuestionView

TICK_SECONDS = 0.5


class ExamScreen(TutorScreen):
    USES_LOCALSTACK = False
    BINDINGS = [  # short descriptions: all of them fit an 80-column footer
        Binding("n", "move(1)", "Next"),
        Binding("p", "move(-1)", "Prev"),
        Binding("f", "flag", "Flag", priority=True),
        Binding("g", "focus_navigator", "Go to"),
        Binding("backspace", "clear", "Clear"),
        Binding("ctrl+s", "submit_exam", "Submit exam"),  # not "submit": the footer
        # shows one key per action name, and the question's enter is "submit"
        Binding("escape", "leave", "Leave"),
    ]

    class Submitted(Message):
        """ExamScreen.submit_exam (worker) -> on_exam_screen_submitted: switches to the
        results."""

        def __init__(self, result: ExamResult) -> None:
            super().__init__()
            self.result = result

    def report_item(self) -> str | None:
        return self.session.current.question.id

    def __init__(self, session: ExamSession) -> None:
        super().__init__()
        self.session = session
        self.partial: dict[int, frozenset[str]] = {}  # "choose 2" with one picked so far
        self.submitting = False
        self.warned = False  # the five-minute warning is given once

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="exam-status"):
            yield Static("", id="exam-progress", markup=False)
            yield Countdown(id="countdown")
        with Horizontal(id="exam-body"):
            yield VerticalScroll(id="exam-main")
            with VerticalScroll(id="exam-side", can_focus=False):
                yield Label("Questions", classes="pane-title")
                yield ExamNavigator(self.session.total, id="navigator")
                yield Button("Submit exam", variant="primary", id="submit")
        yield ConnectionBar()
        yield Footer(compact=True)  # every key fits 80 columns

    def on_mount(self) -> None:
        self.sub_title = f"{self.session.exam.code} · {self.session.total} questions · " \
                         f"{self.session.minutes:g} min"
        if self.session.shortfall:
            short = ", ".join(f"{d} {got}/{want}" for d, (want, got)
                              in self.session.shortfall.items())
            self.notify(f"The banks are small for some domains: {short}", title="Exam draw",
                        severity="warning", timeout=10)
        self.tick()
        self.set_interval(TICK_SECONDS, self.tick)
        self.show_question()

    # --- the clock -----------------------------------------------------------------------

    def tick(self) -> None:
        left = self.session.time_left()
        self.query_one(Countdown).seconds_left = left
        if 0 < left <= LOW_SECONDS and not self.warned:
            self.warned = True
            self.notify(f"{clock_text(left)} left: check your flagged and unanswered questions",
                        title="Time", severity="warning", timeout=8)
        if left <= 0 and self.session.result is None and not self.submitting:
            self.notify("Time is up: your exam was submitted", title="Exam over",
                        severity="warning", timeout=15)
            self.finish()

    # --- the question ----------------------------------------------------------------------

    def show_question(self) -> None:
        main = self.query_one("#exam-main", VerticalScroll)
        main.remove_children()
        s = self.session
        q = s.current.question
        flag = " · ⚑ flagged" if s.index in s.flagged else ""
        selected = self.partial.get(s.index) or s.selection()
        domain = DOMAINS[q.domain].name if q.domain in DOMAINS else q.domain
        view = ExamQuestionView(s.current, f"Question {s.index + 1} of {s.total} · "
                            f"{domain}{flag}", selected, observed=False)
        main.mount(view)
        main.scroll_home(animate=False)
        self.show_marks()

    def show_marks(self) -> None:
        s = self.session
        answered = set(range(s.total)) - set(s.unanswered)
        self.query_one(ExamNavigator).update_marks(answered, set(s.flagged), s.index)
        self.query_one("#exam-progress", Static).update(
            f"{s.exam.code} · question {s.index + 1} of {s.total} · answered "
            f"{len(answered)} · flagged {len(s.flagged)}")

    def on_question_view_changed(self, message: QuestionView.Changed) -> None:
        if self.session.result is not None or self.session.expired:
            return
        picks = self.session.current.question.picks
        if len(message.letters) == picks:
            self.session.answer(message.letters)
            self.partial.pop(self.session.index, None)
        else:
            self.session.clear()
            self.partial[self.session.index] = message.letters
        self.show_marks()

    def on_question_view_submitted(self, message: QuestionView.Submitted) -> None:
        self.action_move(1)

    def on_exam_navigator_selected(self, message: ExamNavigator.Selected) -> None:
        self.session.goto(message.index)
        self.show_question()

    def action_move(self, step: int) -> None:
        moved = self.session.next() if step > 0 else self.session.previous()
        if moved is None:
            where = "last" if step > 0 else "first"
            self.notify(f"This is the {where} question" +
                        (" — ctrl+s submits the exam" if step > 0 else ""), timeout=3)
            return
        self.show_question()

    def action_flag(self) -> None:
        on = self.session.flag()
        self.notify(f"Question {self.session.index + 1} " + ("flagged" if on else "unflagged"),
                    timeout=2)
        self.show_question()

    def action_clear(self) -> None:
        if self.session.result is None and not self.session.expired:
            self.session.clear()
            self.partial.pop(self.session.index, None)
            self.show_question()

    def action_focus_navigator(self) -> None:
        self.query_one(ExamNavigator).focus()

    # --- submitting ------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit_exam()

    def action_submit_exam(self) -> None:
        s = self.session
        if self.submitting or s.result is not None:
            return
        unanswered, flagged = len(s.unanswered), len(s.flagged)
        body = (f"{s.total - unanswered} of {s.total} questions answered.\n"
                f"Unanswered: {unanswered}" +
                (f" ({', '.join(str(i + 1) for i in s.unanswered[:12])}"
                 f"{' …' if unanswered > 12 else ''})" if unanswered else "") +
                f"\nFlagged for review: {flagged}" +
                (f" ({', '.join(str(i + 1) for i in s.flagged)})" if flagged else "") +
                "\n\nUnanswered questions count as wrong.")
        self.app.push_screen(ConfirmDialog("Submit the exam?", body, "Submit", "Keep going"),
                             if_confirmed(self.finish))

    def finish(self) -> None:
        self.submitting = True
        self.query_one("#submit", Button).disabled = True
        self.query_one("#exam-progress", Static).update("Scoring your exam …")
        self.submit_exam()

    @work(thread=True, exclusive=True, group="submit", exit_on_error=False)
    def submit_exam(self) -> None:
        self.post_message(self.Submitted(self.session.submit()))

    def on_exam_screen_submitted(self, message: Submitted) -> None:
        from tutor.ui.screens.exam_results import ExamResultsScreen

        while self.app.screen is not self:  # time ran out under a dialog: close it
            self.app.pop_screen()
        self.app.switch_screen(ExamResultsScreen(message.result, self.session))

    def worker_failed(self, worker: Worker[object]) -> None:
        self.submitting = False
        self.query_one("#submit", Button).disabled = False
        self.show_marks()

    def action_leave(self) -> None:
        self.app.push_screen(ConfirmDialog(
            "Leave the exam?", "Your answers are saved: x on the home screen (or `tutor quiz "
            "--resume`) goes on. The clock runs on, as in the real exam.",
            "Leave", "Stay", danger=True), if_confirmed(self.app.pop_screen))
