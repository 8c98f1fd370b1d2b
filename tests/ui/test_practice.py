"""Practice and review through the pilot, a predict question run for real included."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.cloud.endpoint import Endpoint
from tutor.engine.quiz.bank import load_banks
from tutor.engine.quiz.model import LETTERS
from tutor.engine.quiz.sessions import PracticeSession
from tutor.ui.app import make_app
from tutor.ui.screens.practice import PracticeScreen
from tutor.ui.widgets.connection import ConnectionBar
from tutor.ui.widgets.feedback_view import FeedbackView

from .helpers import SIZE, home_ready, notes, until


def session_of(app, quizzes: Path, *ids: str) -> PracticeSession:  # type: ignore[no-untyped-def]
    bank = load_banks(quizzes)[0]
    items = [(bank, q) for qid in ids for q in bank.questions if q.id == qid]
    return PracticeSession(items, app.course.store(), seed=3)


def key(letter: str) -> str:
    return str(LETTERS.index(letter) + 1)  # pick by number, the other way than by letter


def feedback_text(screen: PracticeScreen) -> str:
    return screen.query_one(FeedbackView).text()


async def test_right_then_wrong_answers_show_every_explanation(quizzes: Path) -> None:
    app = make_app(quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        session = session_of(app, quizzes, "ui-single", "ui-multiple")
        await app.push_screen(PracticeScreen(session, "Practice: fixture"))
        screen = app.screen
        assert "question 1 of 2" in str(screen.query_one("#quiz-status").render())

        right = sorted(session.current.question.correct_letters)[0]
        await pilot.press(right, "enter")
        view = screen.query_one(FeedbackView)
        await until(lambda: view.has_class("-right"), pilot)
        text = feedback_text(screen)
        assert "✓ Correct" in text
        for option in session.current.question.options:  # every option explained
            assert option.why in text
        assert "Docs: Amazon SQS Developer Guide" in text

        await pilot.press("enter")  # next question
        await until(lambda: session.position[0] == 1, pilot)
        q = session.current.question
        assert q.id == "ui-multiple"
        good = sorted(q.correct_letters)[0]
        bad = sorted(set(q.letters) - q.correct_letters)[0]
        await pilot.press(key(good))
        await pilot.press("enter")  # only one of two picked: refused
        await pilot.pause()
        assert not session.answered
        assert any("Choose 2 options" in n for n in notes(app))
        await pilot.press(bad, "enter")
        await until(lambda: view.has_class("-wrong"), pilot)
        text = feedback_text(screen)
        assert "✗ Not quite" in text and "(your pick)" in text
        for option in q.options:
            assert option.why in text

        await pilot.press("enter")
        await until(lambda: session.done, pilot)
        summary = str(screen.query_one("#summary").render())
        assert "1 of 2 right" in summary
        answers = app.course.store().answers()
        assert [a["correct"] for a in answers] == [1, 0]


async def test_skip_moves_on_and_counts(quizzes: Path) -> None:
    app = make_app(quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        session = session_of(app, quizzes, "ui-single", "ui-multiple")
        await app.push_screen(PracticeScreen(session, "Practice: fixture"))
        await pilot.press("s", "s")
        await until(lambda: session.done, pilot)
        assert "2 skipped" in str(app.screen.query_one("#summary").render())


@pytest.mark.localstack
async def test_predict_question_runs_for_real(quizzes: Path, localstack: Endpoint,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []  # the running state can be brief: record that it was shown
    running = FeedbackView.running
    bars: list[bool] = []
    monkeypatch.setattr(FeedbackView, "running", lambda self, text, busy=False: (
        shown.append(text), bars.append(busy), running(self, text, busy)))
    app = make_app(quizzes_dir=quizzes, endpoint=localstack.url)
    async with app.run_test(size=SIZE) as pilot:
        session = session_of(app, quizzes, "ui-predict")
        await app.push_screen(PracticeScreen(session, "Predict"))
        screen = app.screen
        await until(lambda: screen.query_one(ConnectionBar).state.phase == "ready", pilot)
        predicted = sorted(session.current.question.correct_letters)[0]
        await pilot.press(predicted, "enter")
        view = screen.query_one(FeedbackView)
        assert shown and "Running the scenario against LocalStack" in shown[0]
        assert bars[0]  # with a moving progress bar
        await pilot.pause()
        if not (view.has_class("-right") or view.has_class("-wrong")):  # still running
            assert view.query("ProgressBar")
        await until(lambda: view.has_class("-right") or view.has_class("-wrong"), pilot,
                    seconds=40)
        text = feedback_text(screen)
        assert "Observed on LocalStack" in text
        assert "visible=2,in_flight=1" in text  # the outcome LocalStack really produced
        assert "GetQueueAttributes" in text and "SendMessage" in text  # the evidence
        assert view.has_class("-right")


async def test_chooser_review_serves_due_cards_or_says_none(quizzes: Path) -> None:
    from textual.widgets import DataTable

    from tutor.ui.dialogs.error import ErrorDialog
    from tutor.ui.dialogs.quiz_chooser import QuizChooser

    app = make_app(quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await home_ready(app, pilot)
        banks = app.screen.query_one("#banks", DataTable)
        await until(lambda: banks.get_row("ui-fixture")[-1] == "0", pilot)
        await pilot.press("b", "enter")
        await until(lambda: isinstance(app.screen, QuizChooser), pilot)
        await pilot.press("end", "up", "up", "enter")  # review, before the retakes: none due
        await until(lambda: isinstance(app.screen, ErrorDialog), pilot)
        assert app.screen.error.title == "Nothing to review"
        await pilot.press("escape")

        store = app.course.store()  # a wrong answer, its card due now
        practice = session_of(app, quizzes, "ui-single")
        q = practice.current.question
        practice.answer(sorted(set(q.letters) - q.correct_letters)[0])
        store.save_card("ui-single", store.card("ui-single"), 0.0)
        await pilot.press("r")  # refresh the home screen's figures
        await until(lambda: "ui-fixture" in banks.rows
                    and banks.get_row("ui-fixture")[-1] == "1", pilot)
        await pilot.press("b", "enter")
        await until(lambda: isinstance(app.screen, QuizChooser), pilot)
        await pilot.press("end", "up", "up", "enter")
        await until(lambda: isinstance(app.screen, PracticeScreen), pilot)
        assert app.screen.title_text == "Review: 1 due card"
        assert app.screen.session.current.question.id == "ui-single"


async def test_chooser_practice_by_topic(quizzes: Path) -> None:
    from textual.widgets import Select

    from tutor.ui.dialogs.quiz_chooser import QuizChooser

    app = make_app(quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.screen.topics is not None, pilot)
        assert ("dlq", 1) in app.screen.topics
        await pilot.press("b", "enter")
        await until(lambda: isinstance(app.screen, QuizChooser), pilot)
        await pilot.press("down", "enter")  # by topic: the topic list opens
        topics = app.screen.query_one("#topic", Select)
        await until(lambda: topics.expanded and topics.has_focus_within, pilot)
        topics.value = "dlq"  # picking one starts the practice
        await until(lambda: isinstance(app.screen, PracticeScreen), pilot)
        assert app.screen.title_text == "Practice: topic dlq"
        assert [q.id for _b, q in app.screen.session.items] == ["ui-multiple"]


async def test_a_letter_and_enter_typed_at_once_answer_once(quizzes: Path) -> None:
    """Both keys in one read of the terminal (tmux, a fast typist): the pick counts."""
    from textual import events

    app = make_app(quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        session = session_of(app, quizzes, "ui-single")
        await app.push_screen(PracticeScreen(session, "Practice: fixture"))
        screen = app.screen
        await until(lambda: screen.view is not None and screen.view.has_focus_within, pilot)
        right = sorted(session.current.question.correct_letters)[0]
        app.post_message(events.Key(right, right))  # no pause in between
        app.post_message(events.Key("enter", "\r"))
        await until(lambda: session.answered, pilot)
        assert session.results[0] is not None and session.results[0].correct
        assert not any("Choose 1 option" in n for n in notes(app))


async def test_practice_fits_80x24(quizzes: Path) -> None:
    from .helpers import cut_off

    app = make_app(quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        session = session_of(app, quizzes, "ui-multiple", "ui-single")
        await app.push_screen(PracticeScreen(session, "Practice: fixture"))
        screen = app.screen
        await until(lambda: screen.view is not None, pilot)
        assert cut_off(screen) == []
        assert {"enter", "escape", "s", "q", "question_mark"} <= {
            k.key for k in screen.query("FooterKey")}
        status = screen.query_one("#quiz-status")
        assert screen.region.contains_region(status.region)
        assert "question 1 of 2" in str(status.render())
