"""The home screen, driven through Textual's pilot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from textual.widgets import DataTable

from tutor.cloud.endpoint import Endpoint
from tutor.ui.app import make_app
from tutor.ui.widgets.connection import ConnectionBar


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
