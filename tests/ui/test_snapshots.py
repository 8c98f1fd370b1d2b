"""Snapshots of the key screens at 80x24 and 120x36; each test also asserts the app's state.

The pictures must not depend on the machine or the moment: the app runs without
LocalStack (connect=False), on a copy of the fixture content, with its data under one
fixed path (paths are on screen), and quiz sessions get a seed and a fixed clock.
Regenerate after a deliberate UI change with
`.venv/bin/pytest tests/ui/test_snapshots.py --snapshot-update`, and look at the SVGs.
"""

from __future__ import annotations

import fcntl
import html
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widgets import DataTable, Markdown

from tutor.ui.app import TutorApp, make_app
from tutor.ui.screens.help import HelpScreen
from tutor.ui.screens.home import HomeScreen
from tutor.ui.screens.lab import LabScreen
from tutor.ui.widgets.connection import ConnectionBar
from tutor.ui.widgets.step_list import StepList

from .helpers import FIXTURES, until

# syrupy 7 names files by `file_extension`; pytest-textual-snapshot 1.0.0 still sets the
# older `_file_extension`, so without this its SVGs would be stored as `.raw`.
pytest_textual_snapshot.SVGImageExtension.file_extension = "svg"

# A fixed place: the workspace and progress paths are part of what the screens show.
ROOT = Path("/tmp/tutor-snapshots")
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36")]
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

Snap = Callable[..., bool]
State = dict[str, Any]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def content(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fixture labs and quizzes and a fresh TUTOR_HOME, all under ROOT."""
    ROOT.mkdir(exist_ok=True)
    with (ROOT / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs on one machine take turns
        for name in ("home", "labs", "quizzes"):
            shutil.rmtree(ROOT / name, ignore_errors=True)
        shutil.copytree(FIXTURES / "labs", ROOT / "labs",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(FIXTURES / "quizzes", ROOT / "quizzes")
        monkeypatch.setenv("TUTOR_HOME", str(ROOT / "home"))
        monkeypatch.delenv("TUTOR_WORKSPACE", raising=False)
        try:
            yield ROOT
        finally:
            for name in ("home", "labs", "quizzes"):
                shutil.rmtree(ROOT / name, ignore_errors=True)


def tutor_app(root: Path) -> TutorApp:
    return make_app(labs_dir=root / "labs", quizzes_dir=root / "quizzes", connect=False)


async def settled_home(app: TutorApp, pilot: Pilot[None]) -> HomeScreen:
    """Home with its lists read and its progress figures in (both come from workers)."""
    await until(lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded, pilot)
    screen = app.screen
    assert isinstance(screen, HomeScreen)
    labs = screen.query_one("#labs", DataTable)
    await until(lambda: "…" not in str(labs.get_row("01-slow-worker")), pilot)
    banks = screen.query_one("#banks", DataTable)
    await until(lambda: "…" not in str(banks.get_row("ui-fixture")), pilot)
    await until(lambda: getattr(screen, "summary", "") is not None, pilot)  # due, countdown
    # A DataTable sizes its columns when idle, after the cells change: wait for that too.
    await until(lambda: sized(labs) and sized(banks), pilot)
    # Textual 8.2.8 widens a column on idle but keeps lines it drew in between cached at
    # the old width (textualize/textual#3533): about 1 run in 16 showed "not star" for
    # good. Reported to the home screen's owner; until then, drop those caches here.
    for table in (labs, banks):
        table.notify_style_update()
    row = str(labs.get_row("01-slow-worker")[-1])
    await until(lambda: row in shown(app), pilot, seconds=5)  # drawn at the new width
    return screen


def shown(app: TutorApp) -> str:
    """The text on the app's screen as last drawn."""
    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


def sized(table: DataTable[Any]) -> bool:
    """Every column is as wide as its widest cell (DataTable measures them when idle)."""
    return all(column.content_width >= max((cell_len(str(c)) for c in
                                            table.get_column(key)), default=0)
               for key, column in table.columns.items())


async def quiet(app: TutorApp, pilot: Pilot[None]) -> None:
    """No toasts in the picture: when they time out is a matter of timing."""
    await pilot.pause()
    app.clear_notifications()
    await pilot.pause()


def bar_text(app: TutorApp) -> str:
    return str(app.screen.query_one(ConnectionBar).render())


@pytest.mark.parametrize("size", SIZES)
def test_home(snap_compare: Snap, content: Path, size: tuple[int, int]) -> None:
    app, state = tutor_app(content), State()

    async def run_before(pilot: Pilot[None]) -> None:
        screen = await settled_home(app, pilot)
        state["labs"] = screen.query_one("#labs", DataTable).get_row("01-slow-worker")
        state["banks"] = screen.query_one("#banks", DataTable).get_row("ui-fixture")
        state["bar"] = bar_text(app)
        await quiet(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    assert "A worker that never stops" in str(state["labs"])
    assert "not started" in str(state["labs"])
    assert "3 questions" in str(state["banks"])
    assert "FAILED" in state["bar"] and "started without LocalStack" in state["bar"]


@pytest.mark.parametrize("size", SIZES)
def test_lab_started(snap_compare: Snap, content: Path, size: tuple[int, int]) -> None:
    app, state = tutor_app(content), State()

    async def run_before(pilot: Pilot[None]) -> None:
        await settled_home(app, pilot)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, LabScreen) and app.screen.lab is not None,
                    pilot)
        screen = app.screen
        assert isinstance(screen, LabScreen)
        state["first"] = str(screen.query_one("#lab-status").render())
        await pilot.press("s")
        await until(lambda: screen.progress.started, pilot)
        await until(lambda: "Workspace:" in str(screen.query_one("#lab-status").render()),
                    pilot)
        state["status"] = str(screen.query_one("#lab-status").render())
        state["steps"] = dict(screen.query_one(StepList).states)
        await quiet(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    assert state["first"].startswith("Not started")
    assert str(content / "home" / "workspace" / "01-slow-worker") in state["status"]
    assert (content / "home" / "workspace" / "01-slow-worker" / "worker.py").is_file()
    assert state["steps"]["run-worker"].status == "not checked"


@pytest.mark.parametrize("size", SIZES)
def test_practice_answer_explained(snap_compare: Snap, content: Path,
                                   size: tuple[int, int]) -> None:
    from tutor.engine.quiz.sessions import PracticeSession
    from tutor.ui.screens.practice import PracticeScreen
    from tutor.ui.widgets.feedback_view import FeedbackView
    from tutor.ui.widgets.question_view import QuestionView

    app, state = tutor_app(content), State()

    async def run_before(pilot: Pilot[None]) -> None:
        await settled_home(app, pilot)
        bank = app.course.banks()[0]
        items = [(bank, q) for q in bank.questions if q.id == "ui-single"]
        session = PracticeSession(items, app.course.store(), seed=3, clock=Clock())
        await app.push_screen(PracticeScreen(session, "Practice: UI fixture bank"))
        screen = app.screen
        wrong = sorted(set(session.current.question.letters)
                       - session.current.question.correct_letters)[0]
        await pilot.press(wrong)  # a wrong pick: every option is explained
        await until(lambda: screen.query_one(QuestionView).letters == {wrong}, pilot)
        await pilot.press("enter")
        view = screen.query_one(FeedbackView)
        await until(lambda: view.has_class("-wrong"), pilot)
        state["text"] = view.text()
        state["why"] = [o.why for o in session.current.question.options]
        state["answers"] = app.course.store().answers()
        await quiet(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    assert "✗ Not quite" in state["text"] and "(your pick)" in state["text"]
    assert all(why in state["text"] for why in state["why"])
    assert [a["correct"] for a in state["answers"]] == [0]  # recorded, not just drawn


@pytest.mark.parametrize("size", SIZES)
def test_exam_results(snap_compare: Snap, content: Path, size: tuple[int, int]) -> None:
    from tutor.engine.quiz.sessions import ExamSession
    from tutor.ui.screens.exam_results import ExamResultsScreen

    app, state = tutor_app(content), State()

    async def run_before(pilot: Pilot[None]) -> None:
        await settled_home(app, pilot)
        clock = Clock()
        session = ExamSession.start(app.course.banks(), app.course.store(), exam="saa-c03",
                                    count=2, seed=1, clock=clock)
        first = session.current.question
        session.answer(sorted(first.correct_letters))  # one right ...
        session.flag(True)
        session.next()
        second = session.current.question
        session.answer(sorted(set(second.letters) - second.correct_letters)[:second.picks])
        clock.now += timedelta(minutes=3, seconds=7)  # ... one wrong, in 3:07
        result = session.submit()
        await app.push_screen(ExamResultsScreen(result, session))
        await until(lambda: isinstance(app.screen, ExamResultsScreen), pilot)
        state["result"] = result
        state["score"] = str(app.screen.query_one("#score").render())
        state["detail"] = str(app.screen.query_one("#score-detail").render())
        state["reviews"] = len(app.screen.query(".review-item"))
        state["exams"] = app.course.store().exams()
        await quiet(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    result = state["result"]
    assert (result.correct, result.total) == (1, 2)
    assert f"scaled score {result.scaled} / 1000 — FAIL" in state["score"]
    assert "1 of 2 correct" in state["detail"] and "03:07" in state["detail"]
    assert "flagged 1" in state["detail"]
    assert state["reviews"] == len(result.wrong) == 1
    assert len(state["exams"]) == 1


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Snap, content: Path, size: tuple[int, int]) -> None:
    app, state = tutor_app(content), State()

    async def run_before(pilot: Pilot[None]) -> None:
        await settled_home(app, pilot)
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), pilot)
        state["source"] = app.screen.query_one(Markdown).source
        await quiet(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    assert str(content / "home" / "workspace") in state["source"]
    assert str(content / "home" / "progress.db") in state["source"]


@pytest.mark.parametrize("size", SIZES)
def test_progress(snap_compare: Snap, content: Path, size: tuple[int, int]) -> None:
    from tutor.engine.progress import open_store
    from tutor.ui.screens.progress import ProgressScreen

    store = open_store()  # one failed check and two answers: figures, no dates on screen
    store.record_step("01-slow-worker", "run-worker", 0.0, 1.0, False, {"status": "failed"})
    store.record_answer("ui-single", "ui-fixture", "practice", True, ["b"])
    store.record_answer("ui-multiple", "ui-fixture", "practice", False, ["a", "d"])
    store.close()
    app, state = tutor_app(content), State()

    async def run_before(pilot: Pilot[None]) -> None:
        await settled_home(app, pilot)
        await pilot.press("p")
        await until(lambda: isinstance(app.screen, ProgressScreen)
                    and app.screen.standing is not None, pilot)
        screen = app.screen
        labs = screen.query_one("#labs-table", DataTable)
        await until(lambda: sized(labs), pilot)
        labs.notify_style_update()  # see settled_home
        state["lab"] = labs.get_row("01-slow-worker")
        state["note"] = str(screen.query_one("#labs-note").render())
        state["pointers"] = {r.pointer: r for r in screen.standing.pointers}
        await quiet(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    number, _title, steps, score, checks, status = state["lab"]
    assert (number, steps, score, checks) == ("01", "0/1", "0%", "1")
    assert status != "complete"
    assert state["note"].startswith("0 of 1 labs complete")
    visibility = state["pointers"]["visibility-timeout"]
    assert (visibility.answered, visibility.rate) == (1, 1.0)


@pytest.mark.parametrize("size", SIZES)
def test_exam_question(snap_compare: Snap, content: Path, size: tuple[int, int]) -> None:
    from tutor.engine.quiz.sessions import ExamSession
    from tutor.ui.screens.exam import ExamScreen
    from tutor.ui.widgets.countdown import Countdown
    from tutor.ui.widgets.exam_navigator import ExamNavigator

    app, state = tutor_app(content), State()

    async def run_before(pilot: Pilot[None]) -> None:
        await settled_home(app, pilot)
        clock = Clock()
        session = ExamSession.start(app.course.banks(), app.course.store(), exam="saa-c03",
                                    count=2, seed=1, clock=clock)
        await app.push_screen(ExamScreen(session))
        screen = app.screen
        first = session.current.question
        await pilot.press(*sorted(first.correct_letters))
        await until(lambda: session.selection(0) == first.correct_letters, pilot)
        await pilot.press("f")  # flagged for review, then on to question 2
        await until(lambda: session.flagged == [0], pilot)
        await pilot.press("n")
        await until(lambda: session.index == 1, pilot)
        clock.now += timedelta(minutes=1, seconds=30)  # the countdown reads this clock
        countdown = screen.query_one(Countdown)
        await until(lambda: countdown.seconds_left == session.time_left(), pilot)
        nav = screen.query_one(ExamNavigator)
        state["nav"] = (set(nav.answered), set(nav.flagged))
        state["left"] = str(countdown.render())
        state["allowed"] = session.time_left() + 90
        await quiet(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    assert state["nav"] == ({0}, {0})  # answered and flagged: question 1
    minutes, seconds = divmod(int(state["allowed"]) - 90, 60)
    assert f"{minutes:02d}:{seconds:02d} left" in state["left"]
