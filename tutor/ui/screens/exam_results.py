"""An exam's result: scaled score and pass/fail, per-domain bars, every wrong answer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Header, Label, Static

from tutor.engine.quiz.scoring import PASS_SCORE
from tutor.engine.quiz.sessions import ExamResult, ExamSession
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.connection import ConnectionBar
from tutor.ui.widgets.countdown import clock_text
from tutor.ui.widgets.domain_bars import DomainBars
from tutor.ui.widgets.feedback_view import FeedbackBody
from tutor.ui.widgets.footer import Footer
from tutor.ui.widgets.inline import inline, reflow


class ExamResultsScreen(TutorScreen):
    DEFAULT_CSS = """
    ExamResultsScreen #score { text-style: bold; padding: 1 0 0 0; }
    ExamResultsScreen #score.-pass { color: $success; }
    ExamResultsScreen #score.-fail { color: $error; }
    ExamResultsScreen .review-item { border: round $error; padding: 0 1; margin-bottom: 1; }
    ExamResultsScreen .section { text-style: bold; color: $primary; padding-top: 1; }
    """
    USES_LOCALSTACK = False
    BINDINGS = [Binding("escape", "back", "Home")]

    def __init__(self, result: ExamResult, session: ExamSession) -> None:
        super().__init__()
        self.result = result
        self.prompts = {p.question.id: (i, p.question.prompt)
                        for i, p in enumerate(session.presented)}

    def compose(self) -> ComposeResult:
        r = self.result
        verdict = "PASS" if r.passed else "FAIL"
        yield Header()
        with VerticalScroll(id="results-body"):
            score = Static(f"{r.exam}: scaled score {r.scaled} / 1000 — {verdict} "
                           f"({PASS_SCORE} needed)", id="score", markup=False)
            score.add_class("-pass" if r.passed else "-fail")
            yield score
            timed = " · time ran out" if r.timed_out else ""
            yield Label(f"{r.correct} of {r.total} correct · {clock_text(r.seconds)} used"
                        f"{timed} · flagged {len(r.flagged)}", id="score-detail")
            yield Label("By domain", classes="section")
            yield DomainBars(r.domains, id="domains")
            yield Label(f"Review: {len(r.wrong)} wrong or unanswered" if r.wrong
                        else "Nothing to review: every answer was right", classes="section",
                        id="review-title")
            for fb in sorted(r.wrong, key=lambda f: self.prompts.get(f.question_id,
                                                                    (0, ""))[0]):
                index, prompt = self.prompts.get(fb.question_id, (0, fb.question_id))
                head = Content.assemble(Content.from_markup("[b]Question $n:[/] ",
                                                            n=str(index + 1)),
                                        inline(reflow(prompt)))
                body = FeedbackBody(fb, head)
                body.add_class("review-item")
                yield body
        yield ConnectionBar()
        yield Footer(compact=True)  # every key fits 80 columns

    def on_mount(self) -> None:
        self.query_one("#results-body").focus()

    def action_back(self) -> None:
        self.app.pop_screen()
