"""The Progress screen: per lab, per exam pointer, exams, due cards; reachable by `p`."""

from __future__ import annotations

import time
from pathlib import Path

from textual.widgets import DataTable, Footer, TabbedContent

from tutor.engine.progress import open_store
from tutor.engine.quiz.srs import Schedule
from tutor.ui.app import make_app
from tutor.ui.screens.home import HomeScreen
from tutor.ui.screens.practice import PracticeScreen
from tutor.ui.screens.progress import ProgressScreen
from tutor.ui.widgets.connection import ConnectionBar

from .helpers import home_ready, until


def seed() -> None:
    store = open_store()
    store.mark_lab("09-fifo", started=True)
    store.record_step("09-fifo", "fifo-queue", 5, 5, True)  # two check runs
    store.record_step("09-fifo", "groups-and-dedup", 1, 4, False)
    store.record_step("09-fifo", "fifo-queue", 5, 5, True)
    store.record_step("09-fifo", "groups-and-dedup", 2, 4, False)
    store.record_answer("ui-multiple", "ui-fixture", "practice", False, ["a", "c"])
    store.record_answer("ui-multiple", "ui-fixture", "practice", True, ["a", "b"])
    store.record_answer("ui-single", "ui-fixture", "exam", True, ["a"])
    store.save_exam("s1", "saa-c03", time.time() - 60, time.time(), 780, True, {})
    store.save_exam("s2", "dva-c02", time.time() - 30, time.time(), 610, False, {})
    schedule = Schedule(store)
    schedule.make_due(["ui-multiple"])
    later = schedule.new_card("ui-single")
    store.save_card("ui-single", later.to_json(), time.time() + 2 * 86400 + 600)
    store.close()


def cells(table: DataTable, key: str) -> list[str]:
    return [str(c) for c in table.get_row(key)]


async def test_progress_screen_tabs_show_the_store(labs: Path, quizzes: Path) -> None:
    import yaml

    seed()
    steps = len(yaml.safe_load((labs / "09-fifo" / "lab.yaml").read_text())["steps"])
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await home_ready(app, pilot)
        await pilot.press("p")
        await until(lambda: isinstance(app.screen, ProgressScreen), pilot)
        screen = app.screen
        await until(lambda: screen.standing is not None, pilot)

        labs_table = screen.query_one("#labs-table", DataTable)
        row = cells(labs_table, "09-fifo")
        best = (1.0 + 0.5) / steps
        assert row[2:] == [f"1/{steps}", f"{best:.0%}", "2", "in progress"]

        await pilot.press("2")
        tabs = screen.query_one(TabbedContent)
        assert tabs.active == "pointers"
        pointers = screen.query_one("#pointers-table", DataTable)
        assert pointers.has_focus
        dlq = cells(pointers, "dlq")  # ui-multiple is tagged dlq: 1 of 2 right
        assert dlq[1:3] == ["2", "50%"] and "█████░░░░░" in dlq[3]
        fifo = cells(pointers, "fifo")  # lab 09's fifo-queue step passed
        assert fifo[1] == "—" and fifo[4].startswith("1/")
        assert pointers.get_row_at(0)[0] == "dlq"  # answered and weakest first
        assert pointers.ordered_columns[3].width == 10  # the bar is not cut

        await pilot.press("3")
        assert tabs.active == "exams"
        exams = screen.query_one("#exams-table", DataTable)
        newest, oldest = (list(map(str, exams.get_row_at(i))) for i in (0, 1))
        assert newest[1:] == ["DVA-C02", "610 / 1000", "FAIL"]
        assert oldest[1:] == ["SAA-C03", "780 / 1000", "PASS"]
        assert "2 exams taken, 1 passed" in str(screen.query_one("#exams-note").render())

        await pilot.press("4")
        assert tabs.active == "due"
        due = screen.query_one("#due-table", DataTable)
        assert cells(due, "ui-multiple")[0] == "now"
        assert cells(due, "ui-single")[0] == "in 2 days"
        assert "dead-letter" in cells(due, "ui-multiple")[2]
        assert "1 due now, 1 later" in str(screen.query_one("#due-note").render())

        # 80x24: tabs, table, bar and every footer key are on screen.
        whole = screen.region
        for widget in (tabs, due, screen.query_one(ConnectionBar), screen.query_one(Footer)):
            assert whole.contains_region(widget.region) and widget.region.height > 0
        keys = list(screen.query("FooterKey"))
        assert {k.key for k in keys} >= {"escape", "1", "2", "3", "4", "v"}
        for key in keys:
            assert whole.contains_region(key.region), f"footer key {key.key} cut off"

        await pilot.press("v")  # review the due cards from here
        await until(lambda: isinstance(app.screen, PracticeScreen), pilot)
        assert [q.id for _b, q in app.screen.session.items] == ["ui-multiple"]
        q = app.screen.session.current.question
        await pilot.press(*sorted(q.correct_letters), "enter")
        await until(lambda: app.screen.session.answered, pilot)
        await pilot.press("escape")
        await until(lambda: app.screen is screen, pilot)
        # Back on the screen, it reads again: the card answered is no longer due.
        await until(lambda: cells(screen.query_one("#due-table", DataTable),
                                  "ui-multiple")[0] != "now", pilot)
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, HomeScreen), pilot)


async def test_progress_screen_empty(tmp_path: Path, quizzes: Path) -> None:
    app = make_app(labs_dir=tmp_path / "none", quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await home_ready(app, pilot)
        await pilot.press("p")
        await until(lambda: isinstance(app.screen, ProgressScreen), pilot)
        screen = app.screen
        await until(lambda: screen.standing is not None, pilot)
        assert "No labs found" in str(screen.query_one("#labs-note").render())
        assert "No exams yet" in str(screen.query_one("#exams-note").render())
        assert "No review cards yet" in str(screen.query_one("#due-note").render())
        assert screen.query_one("#pointers-table", DataTable).row_count >= 40
