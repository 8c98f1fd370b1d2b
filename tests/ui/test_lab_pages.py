"""The lab screen's pages (step, overview, README): one key shows each, the keys then move
what is shown, and a switch rebuilds nothing it does not change."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Markdown

from tutor.cloud.endpoint import Endpoint
from tutor.ui.app import make_app
from tutor.ui.widgets.lab_brief import LabBrief
from tutor.ui.widgets.step_list import StepList

from .helpers import open_lab, until

SIZE = (80, 24)


@pytest.mark.localstack
async def test_each_page_takes_the_keys_and_a_switch_keeps_the_footer(
        labs: Path, quizzes: Path, localstack: Endpoint, tutor_home: Path) -> None:
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, endpoint=localstack.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(app, pilot)
        brief = screen.query_one(LabBrief)
        await pilot.press("escape")  # a first visit opens on the overview
        await until(lambda: brief.page == "step", pilot)
        assert screen.focused is screen.query_one(StepList)
        # The footer was built while the lab loaded (its keys dimmed), then again once
        # they could be used: what it shows follows the bindings.
        check_key = next(k for k in screen.query("FooterKey") if k.key == "c")
        assert not check_key.disabled
        keys_before = list(screen.query("FooterKey"))

        readme = brief.scroller("readme")
        await pilot.press("m")
        await until(lambda: brief.page == "readme", pilot)
        assert not screen.query_one("#lab-steps").display  # the README gets the width
        assert screen.focused is readme  # so the keys scroll it
        assert readme.max_scroll_y > 0, "the README fits at 80x24: nothing to scroll"
        await pilot.press("pagedown")
        await until(lambda: readme.scroll_y > 0, pilot)
        await pilot.press("end")
        await until(lambda: readme.scroll_y == readme.max_scroll_y, pilot)
        assert "FIFO" in screen.query_one("#readme", Markdown).source

        await pilot.press("m")  # back: the step list beside the step, and the keys
        await until(lambda: brief.page == "step", pilot)
        assert screen.query_one("#lab-steps").display
        assert screen.focused is screen.query_one(StepList)
        await pilot.press("v")
        await until(lambda: brief.page == "overview", pilot)
        assert screen.focused is brief.scroller("overview")
        await pilot.press("escape")
        await until(lambda: brief.page == "step", pilot)
        # Same keys on every page: the footer kept its widgets through four switches.
        assert list(screen.query("FooterKey")) == keys_before
        assert readme.scroll_y == readme.max_scroll_y  # and the README its place

        await pilot.click("#--content-tab-tab-readme")  # the mouse: the same page
        await until(lambda: brief.page == "readme", pilot)
        assert not screen.query_one("#lab-steps").display
        assert screen.focused is readme
        await pilot.click("#--content-tab-tab-step")
        await until(lambda: brief.page == "step", pilot)
        assert screen.query_one("#lab-steps").display
        assert screen.focused is screen.query_one(StepList)
        await pilot.press("q")
    assert app.return_code == 0
