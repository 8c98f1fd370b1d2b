"""Practice and review: one question at a time, immediate feedback, a summary at the end.

Predict-then-observe questions run their scenario against LocalStack after the learner's
prediction (in a worker) and are graded on what really happened.
"""

from __future__ import annotations

import time
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Header, Static
from textual.worker import Worker

from tutor.engine.quiz.sessions import Feedback, PracticeSession
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.connection import ConnectionBar
from tutor.ui.widgets.feedback_view import FeedbackView
from tutor.ui.widgets.footer import Footer
from tutor.ui.widgets.question_view import QuestionView


class PracticeScreen(TutorScreen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter,n", "next", "Next question"),
        Binding("s", "skip", "Skip"),
    ]

    class Graded(Message):
        """PracticeScreen's grading worker (a predict question runs its scenario) ->
        on_practice_screen_graded: shows the feedback."""

        def __init__(self, feedback: Feedback) -> None:
            super().__init__()
            self.feedback = feedback

    def report_item(self) -> str | None:
        shown = self.session.current
        return shown.question.id if shown is not None else None

    def __init__(self, session: PracticeSession, title: str) -> None:
        super().__init__()
        self.session = session
        self.title_text = title
        self.shown_at = time.monotonic()
        self.pending = False  # an answer is being graded (or its scenario is running)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="quiz-status", markup=False)
        with VerticalScroll(id="quiz-body"):
            yield FeedbackView(id="feedback")
            yield Static("", id="summary")
        yield ConnectionBar()
        yield Footer(compact=True)  # every key fits 80 columns

    def on_mount(self) -> None:
        self.sub_title = self.title_text
        self.show_question()

    @property
    def view(self) -> QuestionView | None:
        found = self.query(QuestionView)
        return found.first() if found else None

    def show_status(self) -> None:
        index, total = self.session.position
        s = self.session.summary()
        done = f"{s['correct']}/{s['answered']} right so far" if s["answered"] else "no answers yet"
        where = "finished" if self.session.done else f"question {index + 1} of {total}"
        self.query_one("#quiz-status", Static).update(f"{self.title_text} · {where} · {done}")

    def show_question(self, selected: frozenset[str] = frozenset()) -> None:
        if self.view is not None:
            self.view.remove()
        feedback = self.query_one(FeedbackView)
        feedback.clear()
        shown, bank = self.session.current, self.session.current_bank
        self.show_status()
        if shown is None or bank is None:
            self.show_summary()
            return
        q = shown.question
        index, total = self.session.position
        meta = (f"Question {index + 1} of {total} · {bank.title} · difficulty "
                f"{q.difficulty} · {', '.join(q.tags)}")
        view = QuestionView(shown, meta, selected)
        self.query_one("#quiz-body").mount(view, before=feedback)
        self.query_one("#quiz-body", VerticalScroll).scroll_home(animate=False)
        self.shown_at = time.monotonic()

    def show_summary(self) -> None:
        s = self.session.summary()
        pct = f" ({100 * s['correct'] / s['answered']:.0f}%)" if s["answered"] else ""
        self.query_one("#summary", Static).update(
            f"Done: {s['correct']} of {s['answered']} right{pct}, {s['skipped']} skipped.\n"
            "Every answer updated its review card; missed questions come back soon.\n"
            "Press escape to go back.")
        self.query_one("#quiz-body").focus()

    def on_question_view_submitted(self, message: QuestionView.Submitted) -> None:
        if self.pending or self.view is None:
            return
        seconds = time.monotonic() - self.shown_at
        endpoint = None
        if self.view.question.type == "predict":
            endpoint = self.tutor.endpoint_or_toast()
            if endpoint is None:
                return
            self.query_one(FeedbackView).running(
                "◌ Running the scenario against LocalStack … (a few seconds)", busy=True)
        self.pending = True
        self.view.lock_choices()
        self.grade(message.letters, seconds, endpoint)

    @work(thread=True, exclusive=True, group="grade", exit_on_error=False)
    def grade(self, letters: frozenset[str], seconds: float, endpoint: Any) -> None:
        observation = None
        question = self.session.current.question if self.session.current else None
        if endpoint is not None and question is not None:
            from tutor.engine.quiz.scenarios import run_scenario

            observation = run_scenario(question, endpoint)
        self.post_message(self.Graded(self.session.answer(letters, seconds, observation)))

    def on_practice_screen_graded(self, message: Graded) -> None:
        self.pending = False
        view = self.query_one(FeedbackView)
        view.show(message.feedback)
        body = self.query_one("#quiz-body", VerticalScroll)
        body.focus()
        self.call_after_refresh(body.scroll_to_widget, view, top=True)
        self.show_status()

    def worker_failed(self, worker: Worker[object]) -> None:
        self.pending = False
        selected = self.view.letters if self.view else frozenset()
        self.show_question(selected)  # the same question, open again
        self.query_one(FeedbackView).running(
            "The answer was not graded (see the message). Submit again with enter.")

    def action_next(self) -> None:
        if self.pending or self.session.done:
            return
        if not self.session.answered:
            if self.view is not None:
                self.view.action_submit()
            return
        self.session.next()
        self.show_question()

    def action_skip(self) -> None:
        if self.pending or self.session.done:
            return
        if self.session.answered:
            self.action_next()
        else:
            self.session.skip()
            self.show_question()

    def action_back(self) -> None:
        self.app.pop_screen()
