"""The exam through the pilot: flag, navigate, submit, score, review, and the timer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tutor.engine.quiz.scoring import scaled_score
from tutor.engine.quiz.sessions import ExamSession
from tutor.locations import PROJECT_ROOT
from tutor.ui.app import make_app
from tutor.ui.dialogs.confirm import ConfirmDialog
from tutor.ui.dialogs.quiz_chooser import QuizChooser
from tutor.ui.screens.exam import ExamScreen
from tutor.ui.screens.exam_results import ExamResultsScreen
from tutor.ui.widgets.countdown import Countdown
from tutor.ui.widgets.exam_navigator import ExamNavigator
from tutor.ui.widgets.question_view import QuestionView

from .helpers import SIZE, home_ready, notes, until

REAL_QUIZZES = PROJECT_ROOT / "quizzes"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_flag_navigate_submit_and_review() -> None:
    app = make_app(quizzes_dir=REAL_QUIZZES, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        session = ExamSession.start(app.course.banks(), app.course.store(), exam="saa-c03",
                                    count=10, seed=7)
        await app.push_screen(ExamScreen(session))
        screen = app.screen
        q1 = session.current.question
        right = sorted(q1.correct_letters)
        await pilot.press(*right)  # pick (toggles every right option in "choose N")
        await pilot.press("f")
        await until(lambda: session.flagged == [0], pilot)
        assert session.selection(0) == frozenset(right)
        await pilot.press("n")
        await until(lambda: session.index == 1, pilot)
        q2 = session.current.question
        wrong = sorted(set(q2.letters) - q2.correct_letters)[: q2.picks]
        await pilot.press(*wrong)
        await until(lambda: session.selection(1) == frozenset(wrong), pilot)

        await pilot.press("backspace")  # changed my mind ...
        await until(lambda: session.selection(1) == frozenset(), pilot)
        await pilot.press(*wrong)  # ... and back again
        await until(lambda: session.selection(1) == frozenset(wrong), pilot)

        await pilot.press("p")  # back to question 1: the answer is still there
        await until(lambda: session.index == 0, pilot)
        assert screen.query_one(QuestionView).letters == frozenset(right)
        nav = screen.query_one(ExamNavigator)
        assert nav.answered == {0, 1} and nav.flagged == {0}
        assert "answered 2 · flagged 1" in str(screen.query_one("#exam-progress").render())

        await pilot.press("g", "right", "right", "enter")  # the navigator: go to 3
        await until(lambda: session.index == 2, pilot)

        await pilot.press("ctrl+s")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot)
        assert "Unanswered: 8" in app.screen.body
        assert "Flagged for review: 1 (1)" in app.screen.body
        await pilot.press("n")  # keep going
        await until(lambda: app.screen is screen, pilot)
        assert session.result is None

        await pilot.press("ctrl+s")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot)
        await pilot.press("y")
        await until(lambda: isinstance(app.screen, ExamResultsScreen), pilot)
        result = app.screen.result
        assert result.correct == 1 and result.total == 10
        assert result.scaled == scaled_score(1, 10)
        assert f"scaled score {result.scaled} / 1000 — FAIL" in str(
            app.screen.query_one("#score").render())
        bars = str(app.screen.query_one("#domains").render())
        assert ("Design Resilient Architectures" in bars and "█" in bars) or "░" in bars
        reviews = app.screen.query(".review-item")
        assert len(reviews) == len(result.wrong) == 9
        assert q2.options[0].why in "".join(r.text() for r in reviews)
        assert len(app.course.store().exams()) == 1


async def test_time_running_out_submits_the_exam(quizzes: Path) -> None:
    clock = Clock()
    app = make_app(quizzes_dir=REAL_QUIZZES, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        session = ExamSession.start(app.course.banks(), app.course.store(), exam="dva-c02",
                                    count=5, seed=2, clock=clock, minutes=1)
        await app.push_screen(ExamScreen(session))
        countdown = app.screen.query_one(Countdown)
        await until(lambda: countdown.seconds_left == 60, pilot)
        assert "01:00 left" in str(countdown.render())
        clock.now += timedelta(seconds=56)
        await until(lambda: countdown.has_class("-low") and countdown.seconds_left == 4,
                    pilot)
        assert any("left: check your flagged" in n for n in notes(app))  # warned once
        await pilot.press("ctrl+s")  # the learner hesitates over the submit dialog ...
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot)
        clock.now += timedelta(seconds=5)  # ... and time runs out
        await until(lambda: isinstance(app.screen, ExamResultsScreen), pilot)
        assert [type(s).__name__ for s in app.screen_stack] == ["HomeScreen",
                                                                    "ExamResultsScreen"]
        assert app.screen.result.timed_out
        assert "time ran out" in str(app.screen.query_one("#score-detail").render())
        assert any("Time is up" in n for n in notes(app))


async def test_bank_opens_the_chooser_and_an_exam(quizzes: Path) -> None:
    app = make_app(quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await home_ready(app, pilot)
        await pilot.press("b", "enter")
        await until(lambda: isinstance(app.screen, QuizChooser), pilot)
        await pilot.press("down", "down", "enter")  # exam SAA-C03, the short drill
        await until(lambda: isinstance(app.screen, ExamScreen), pilot)
        assert app.screen.session.exam.code == "SAA-C03"
        assert app.screen.session.total == 2  # the fixture bank has two SAA questions


async def test_exam_and_results_fit_80x24() -> None:
    """At 80x24: the question, the clock, the navigator, submit and every key are shown."""
    from textual.widgets import Button

    from .helpers import cut_off

    clock = Clock()
    app = make_app(quizzes_dir=REAL_QUIZZES, connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        session = ExamSession.start(app.course.banks(), app.course.store(), exam="saa-c03",
                                    count=20, seed=4, clock=clock)
        await app.push_screen(ExamScreen(session))
        screen = app.screen
        await until(lambda: screen.query(QuestionView), pilot)
        whole = screen.region
        for widget in (screen.query_one(Countdown), screen.query_one(ExamNavigator),
                       screen.query_one("#exam-progress"), screen.query_one("#exam-main")):
            assert widget.region.height > 0 and whole.contains_region(widget.region)
        submit = screen.query_one("#submit", Button)
        screen.query_one("#exam-side").scroll_to_widget(submit, animate=False)
        await pilot.pause()
        assert whole.contains_region(submit.region)
        assert "00:" not in str(screen.query_one(Countdown).render())  # 0:52:00, in full
        assert cut_off(screen) == []
        keys = {k.key for k in screen.query("FooterKey")}
        assert {"n", "p", "f", "ctrl+s", "escape"} <= keys
        await pilot.press("1", "n", "2", "ctrl+s")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot)
        await pilot.press("y")
        await until(lambda: isinstance(app.screen, ExamResultsScreen), pilot)
        results = app.screen
        assert cut_off(results) == []
        score = results.query_one("#score")
        assert whole.contains_region(score.region)
        bars = str(results.query_one("#domains").render())
        assert "Design Secure Architectures" in bars
        assert max(len(line) for line in bars.splitlines()) <= 78  # no bar is clipped


async def test_an_exam_left_midway_is_offered_on_home_and_resumed() -> None:
    app = make_app(quizzes_dir=REAL_QUIZZES, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await home_ready(app, pilot)
        session = ExamSession.start(app.course.banks(), app.course.store(), exam="dva-c02",
                                    count=10, seed=3)
        await app.push_screen(ExamScreen(session))
        q1 = session.current.question
        await pilot.press(*sorted(q1.correct_letters))
        await pilot.press("f")
        await until(lambda: session.flagged == [0], pilot)
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot)
        assert "Your answers are saved" in app.screen.body
        await pilot.press("y")
        await until(lambda: not isinstance(app.screen, (ConfirmDialog, ExamScreen)), pilot)
        summary = app.screen.query_one("#home-summary")
        await until(lambda: "Unfinished DVA-C02 exam: 1/10 answered" in str(summary.render()),
                    pilot)
        await pilot.press("x")
        await until(lambda: isinstance(app.screen, ExamScreen), pilot)
        resumed = app.screen.session
        assert resumed is not session and resumed.session_id == session.session_id
        assert resumed.index == 1 and resumed.flagged == [0]
        assert resumed.selection(0) == frozenset(q1.correct_letters)
        assert resumed.presented[0].question.id == q1.id


async def test_the_chooser_retakes_mistakes() -> None:
    app = make_app(quizzes_dir=REAL_QUIZZES, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await home_ready(app, pilot)
        banks = app.course.banks()
        missed = banks[1].questions[0]
        app.course.store().record_answer(missed.id, banks[1].id, "practice", False, ["b"])
        await pilot.press("b", "enter")
        await until(lambda: isinstance(app.screen, QuizChooser), pilot)
        await pilot.press("end", "up", "enter")  # "Retake my mistakes"
        await until(lambda: type(app.screen).__name__ == "PracticeScreen", pilot)
        assert app.screen.session.items == [(banks[1], missed)]


async def test_a_problem_is_reported_from_the_question_on_screen() -> None:
    from tutor.ui.dialogs.report_problem import ReportProblemDialog

    app = make_app(quizzes_dir=REAL_QUIZZES, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await home_ready(app, pilot)
        await pilot.press("exclamation_mark")  # nothing on screen to report
        await until(lambda: any("Open a question" in n for n in notes(app)), pilot)
        session = ExamSession.start(app.course.banks(), app.course.store(), exam="saa-c03",
                                    count=5, seed=1)
        await app.push_screen(ExamScreen(session))
        qid = session.current.question.id
        await pilot.press("exclamation_mark")
        await until(lambda: isinstance(app.screen, ReportProblemDialog), pilot)
        await pilot.press("enter")  # an empty note is refused
        assert isinstance(app.screen, ReportProblemDialog)
        await pilot.press(*"option b is right too")
        await pilot.press("enter")
        await until(lambda: any("Problem reported" in n for n in notes(app)), pilot)
        assert isinstance(app.screen, ExamScreen)
        [saved] = app.course.store().problems()
        assert (saved["kind"], saved["item"], saved["note"]) == ("question", qid,
                                                                 "option b is right too")
