"""The home screen, driven through Textual's pilot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from textual.widgets import DataTable

from tutor.cloud.endpoint import Endpoint
from tutor.ui.app import make_app
from tutor.ui.screens.home import NARROW
from tutor.ui.widgets.connection import ConnectionBar

from .helpers import home_ready


@pytest.fixture
def content(tmp_path: Path) -> tuple[Path, Path]:
    labs = tmp_path / "labs"
    for name, title, pattern in [("01-decoupling-tiers", "Decoupling tiers", "decoupling"),
                                 ("04-retry-dlq", "Retry with DLQs", "retry-dlq")]:
        (labs / name).mkdir(parents=True)
        (labs / name / "lab.yaml").write_text(
            f"format: 1\nid: {name}\ntitle: {title}\npattern: {pattern}\n")
    (labs / "09-broken").mkdir()
    (labs / "09-broken" / "lab.yaml").write_text("title: [unclosed\n")
    quizzes = tmp_path / "quizzes"
    quizzes.mkdir()
    (quizzes / "20-vis.yaml").write_text(
        "format: 1\nid: vis\ntitle: Visibility\nquestions: [{id: a}, {id: b}]\n")
    return labs, quizzes


async def _until(predicate, pilot, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 10)):
        if predicate():
            return
        await pilot.pause(0.1)
    raise AssertionError("condition not reached")


@pytest.mark.localstack
async def test_home_lists_content_and_shows_ready(content: tuple[Path, Path],
                                                  localstack: Endpoint) -> None:
    labs, quizzes = content
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, endpoint=localstack.url)
    async with app.run_test(size=(110, 30)) as pilot:
        lab_table = app.screen.query_one("#labs", DataTable)
        bank_table = app.screen.query_one("#banks", DataTable)
        await _until(lambda: lab_table.row_count == 3, pilot)  # read in a worker
        assert bank_table.row_count == 1
        assert "Decoupling tiers" in str(lab_table.get_row_at(0))
        assert "⚠" in str(lab_table.get_row_at(2))  # the broken lab says why
        assert "2 questions" in str(bank_table.get_row_at(0))
        bar = app.screen.query_one(ConnectionBar)
        await _until(lambda: bar.state.phase == "ready", pilot)
        assert localstack.url in bar.state.detail
        assert bar.has_class("-ready")
        await pilot.press("q")
        await asyncio.sleep(0)
    assert app.return_code == 0


async def test_empty_lists_and_lost_connection_are_shown(tmp_path: Path) -> None:
    app = make_app(labs_dir=tmp_path / "none", quizzes_dir=tmp_path / "none",
                   endpoint="http://127.0.0.1:9")
    async with app.run_test(size=(110, 30)) as pilot:
        title = app.screen.query_one("#labs-title")
        await _until(lambda: "none found" in str(title.render()), pilot)
        bar = app.screen.query_one(ConnectionBar)
        await _until(lambda: bar.state.phase == "lost", pilot)
        assert "stopped answering" in bar.state.detail
        assert bar.has_class("-lost")
        await pilot.press("q")


async def test_progress_columns_come_from_the_store(labs: Path, quizzes: Path) -> None:
    from tutor.engine.progress import open_store

    store = open_store()
    store.record_step("09-fifo", "fifo-queue", 5, 5, True)
    store.record_step("09-fifo", "groups-and-dedup", 1, 4, False)
    store.record_answer("ui-single", "ui-fixture", "practice", True, ["a"])
    store.record_answer("ui-multiple", "ui-fixture", "practice", False, ["a", "c"])
    store.save_card("ui-multiple", "{}", 0.0)  # due long ago
    store.close()
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=(110, 30)) as pilot:
        lab_table = app.screen.query_one("#labs", DataTable)
        bank_table = app.screen.query_one("#banks", DataTable)
        await _until(lambda: app.screen.loaded, pilot)
        await _until(lambda: "steps" in str(lab_table.get_row("09-fifo")), pilot)
        steps = len(yaml.safe_load((labs / "09-fifo" / "lab.yaml").read_text())["steps"])
        best = (1.0 + 0.25) / steps
        assert f"1/{steps} steps · best {best:.0%}" in lab_table.get_row("09-fifo")
        await _until(lambda: "50% of 2" in bank_table.get_row("ui-fixture"), pilot)
        assert bank_table.get_row("ui-fixture")[-1] == "1"  # one card due


async def test_help_names_the_workspace(labs: Path, quizzes: Path, tutor_home: Path) -> None:
    from textual.widgets import Markdown

    from tutor.ui.screens.help import HelpScreen

    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=(110, 30)) as pilot:
        await pilot.press("question_mark")
        await _until(lambda: isinstance(app.screen, HelpScreen), pilot)
        text = app.screen.query_one(Markdown).source
        assert str(tutor_home / "workspace") in text and "ctrl+s" in text
        await pilot.press("escape")
        await _until(lambda: not isinstance(app.screen, HelpScreen), pilot)


def _seed(store_path: Path | None = None) -> None:
    """A learner with some history: a passed lab step, answers, one card due, one later."""
    import time as _time

    from tutor.engine.progress import open_store

    store = open_store(store_path)
    store.record_step("09-fifo", "fifo-queue", 5, 5, True)
    store.record_step("09-fifo", "fifo-queue", 5, 5, True)
    store.record_answer("ui-single", "ui-fixture", "practice", True, ["a"])
    store.record_answer("ui-multiple", "ui-fixture", "practice", False, ["a", "c"])
    store.record_answer("ui-multiple", "ui-fixture", "practice", False, ["a", "d"])
    from tutor.engine.quiz.srs import Schedule

    schedule = Schedule(store)
    schedule.make_due(["ui-multiple"])  # due now
    later = schedule.new_card("ui-single")
    store.save_card("ui-single", later.to_json(), _time.time() + 3 * 3600)
    store.close()


async def test_summary_shows_due_reviews_exam_countdown_and_pointers(
        labs: Path, quizzes: Path) -> None:
    from datetime import date, timedelta

    from tutor.engine.progress import open_store

    _seed()
    store = open_store()
    store.set_setting("exam_date", (date.today() + timedelta(days=12)).isoformat())
    store.close()
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        summary = app.screen.query_one("#home-summary")
        await _until(lambda: app.screen.summary is not None, pilot)
        text = str(summary.render())
        assert "Reviews due: 1 (v)" in text
        assert "Exam in 12 days" in text
        # dlq: 0 of 2 right; visibility-timeout 1 of 1 (too few answers to rank)
        assert "weakest: dlq 0%" in text
        touched = app.screen.summary.pointers_touched
        assert touched >= 3  # dlq, redrive, visibility-timeout + the FIFO step's pointers
        assert f"Exam pointers practised: {touched}/" in text


async def test_exam_date_key_sets_checks_and_clears(labs: Path, quizzes: Path) -> None:
    from textual.widgets import Input

    from tutor.ui.dialogs.exam_date import ExamDateDialog

    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(lambda: app.screen.summary is not None, pilot)
        assert "Exam date: not set (e)" in str(app.screen.query_one("#home-summary").render())
        await pilot.press("e")
        await _until(lambda: isinstance(app.screen, ExamDateDialog), pilot)
        await pilot.press(*"next week", "enter")  # not a date: said, dialog stays
        problem = app.screen.query_one("#exam-date-problem")
        await _until(lambda: "YYYY-MM-DD" in str(problem.render()), pilot)
        app.screen.query_one(Input).value = ""
        await pilot.press(*"2099-01-31", "enter")
        await _until(lambda: not isinstance(app.screen, ExamDateDialog), pilot)
        home = app.screen
        await _until(lambda: home.summary is not None and
                     home.summary.exam_date == "2099-01-31", pilot)
        assert "(2099-01-31)" in str(home.query_one("#home-summary").render())
        assert app.course.store().setting("exam_date") == "2099-01-31"
        await pilot.press("e")  # the dialog shows the date; emptied, it clears it
        await _until(lambda: isinstance(app.screen, ExamDateDialog), pilot)
        field = app.screen.query_one(Input)
        assert field.value == "2099-01-31"
        field.value = ""
        await pilot.press("enter")
        await _until(lambda: home.summary is not None and home.summary.exam_date is None,
                     pilot)
        assert app.course.store().setting("exam_date") is None
        await pilot.press("e", "escape")  # escape changes nothing
        await _until(lambda: app.screen is home, pilot)


async def test_review_key_starts_the_due_cards_or_says_none(labs: Path, quizzes: Path) -> None:
    from tutor.ui.screens.practice import PracticeScreen

    from .helpers import notes

    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(lambda: app.screen.summary is not None, pilot)
        await pilot.press("v")  # nothing due: a toast, the home screen stays
        await _until(lambda: any("No cards are due" in n for n in notes(app)), pilot)
        home = app.screen
        assert home.__class__.__name__ == "HomeScreen"
    _seed()
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(lambda: app.screen.summary is not None, pilot)
        await pilot.press("v")
        await _until(lambda: isinstance(app.screen, PracticeScreen), pilot)
        session = app.screen.session
        assert session.mode == "review"
        assert [q.id for _b, q in session.items] == ["ui-multiple"]  # the due one only
        await pilot.press("escape")
        await _until(lambda: app.screen.__class__.__name__ == "HomeScreen", pilot)


async def test_home_fits_80x24(labs: Path, quizzes: Path) -> None:
    """Nothing essential is cut off in the smallest terminal promised."""
    from textual.widgets import Footer

    from tutor.ui.widgets.connection import ConnectionBar

    _seed()
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, endpoint="http://127.0.0.1:9")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await _until(lambda: screen.summary is not None, pilot)
        await _until(lambda: screen.query_one(ConnectionBar).state.phase == "lost", pilot)
        await pilot.pause()
        whole = screen.region
        for selector in ("#home-summary", "#labs", "#banks", "#labs-title", "#banks-title",
                         ConnectionBar, Footer):
            widget = screen.query_one(selector)  # type: ignore[call-overload]
            assert widget.region.height > 0, f"{selector} is not shown"
            assert whole.contains_region(widget.region), f"{selector} is cut off"
        # Both tables show their header and at least two rows.
        for table_id in ("#labs", "#banks"):
            assert screen.query_one(table_id, DataTable).region.height >= 3
        # The lost bar shows the URL and the fix in full (it wraps, never clips).
        bar = screen.query_one(ConnectionBar)
        lines = bar.region.height
        assert lines >= 2 and "127.0.0.1:9" in str(bar.render())
        # Every key of the footer is inside the screen.
        keys = [k for k in screen.query("FooterKey")]
        assert {k.key for k in keys} >= {"l", "b", "v", "p", "e", "q", "question_mark"}
        for key in keys:
            assert whole.contains_region(key.region), f"footer key {key.key} cut off"


def test_review_title_counts_due_and_new_cards(quizzes: Path, tmp_path: Path) -> None:
    """With an exam date, a review adds new questions paced to the day; the title says so."""
    from datetime import date, timedelta

    from tutor.ui.course import Course
    from tutor.ui.dialogs.quiz_chooser import QuizChoice
    from tutor.ui.quiz_launch import build_session

    _seed()
    course = Course(tmp_path, quizzes)
    course.store().set_setting("exam_date", (date.today() + timedelta(days=1)).isoformat())
    session, title = build_session(QuizChoice("review", count=20), course)
    fresh = len(session.items) - 1
    assert fresh >= 1 and title == f"Review: 1 due card + {fresh} new before the exam"
    course.close()


@pytest.mark.parametrize(("first", "then"), [((80, 24), (120, 40)), ((120, 40), (80, 24))])
async def test_a_resize_that_changes_the_layout_keeps_every_column_in_its_pane(
        first: tuple[int, int], then: tuple[int, int], tmp_path: Path) -> None:
    app = make_app(connect=False, store_path=tmp_path / "progress.db")  # the real labs
    async with app.run_test(size=first) as pilot:
        await home_ready(app, pilot)
        labs = app.screen.query_one("#labs", DataTable)
        labs.move_cursor(row=3)
        await pilot.resize_terminal(*then)
        await _until(lambda: app.screen.query_one("#home-panes").has_class("-narrow")
                     == (then[0] < NARROW), pilot)
        await pilot.pause()
        for table, last in ((labs, "not started"), (app.screen.query_one("#banks",
                                                                          DataTable), "0")):
            # Where the last column's text ends: inside the pane, not scrolled off it.
            *before, _last_column = table.columns.values()
            ends = sum(c.get_render_width(table) for c in before) + table.cell_padding + \
                len(last)
            assert ends <= table.scrollable_content_region.width, table.id
        assert labs.cursor_row == 3  # the learner's place survives
