"""The lab screen through the pilot: start, check against LocalStack, hints, solution, reset."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Markdown, Static

from tutor.cloud.endpoint import Endpoint
from tutor.ui.app import make_app
from tutor.ui.dialogs.confirm import ConfirmDialog
from tutor.ui.dialogs.info import InfoDialog
from tutor.ui.dialogs.solution import SolutionScreen
from tutor.ui.widgets.connection import ConnectionBar
from tutor.ui.widgets.lab_brief import LabBrief
from tutor.ui.widgets.step_list import StepList
from tutor.ui.widgets.workspace_watcher import WorkspaceWatcher

from .helpers import SIZE, home_ready, notes, open_lab, until


def status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#lab-status", Static).render())


def detail(app) -> str:  # type: ignore[no-untyped-def]
    return app.screen.query_one("#step-detail", Markdown).source


@pytest.mark.localstack
async def test_start_then_check_streams_expected_found(labs: Path, quizzes: Path,
                                                       localstack: Endpoint,
                                                       tutor_home: Path) -> None:
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, endpoint=localstack.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(app, pilot)
        assert "Not started" in status(app)
        overview = app.screen.query_one("#overview", Markdown).source
        assert "```text" in overview and "in production" in overview  # diagram + clock
        assert "FIFO" in app.screen.query_one("#readme", Markdown).source
        brief = screen.query_one(LabBrief)
        assert brief.active == "tab-overview"  # not started: the overview, full width
        assert not screen.query_one("#lab-steps").display
        await pilot.press("escape")  # closes the overview, stays in the lab
        await until(lambda: brief.active == "tab-step", pilot)
        assert app.screen is screen and screen.query_one("#lab-steps").display
        await pilot.press("m")
        await until(lambda: brief.active == "tab-readme", pilot)
        await pilot.press("m")
        await until(lambda: brief.active == "tab-step", pilot)
        await until(lambda: screen.query_one(ConnectionBar).state.phase == "ready", pilot)

        await pilot.press("s")
        workspace = tutor_home / "workspace" / "09-fifo"
        await until(lambda: screen.progress.started, pilot)
        assert (workspace / "infra.py").is_file()
        assert f"Workspace: {workspace}" in status(app)

        await pilot.press("c")
        await until(lambda: not screen.checking, pilot, seconds=60)
        steps = screen.query_one(StepList)
        assert steps.states["fifo-queue"].status == "failed"  # the starter fails step 1
        assert steps.states["groups-and-dedup"].status == "blocked"  # ... a blocker
        assert "Expected" in detail(app) and "found" in detail(app)
        assert "last check" in status(app)
        assert any("Checked" in n for n in notes(app))


async def test_hints_progress_then_solution_opens(labs: Path, quizzes: Path) -> None:
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(app, pilot)
        step = screen.lab.spec.steps[0]
        total = len(step.hints)
        await pilot.press("o")  # too early: no hint seen, step not passed
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("Not yet" in n for n in notes(app))

        await pilot.press("h")
        await until(lambda: screen.progress.hints.get(step.id) == 1, pilot)
        assert f"hint 1 of {total}" in detail(app)
        await pilot.press("h")
        await until(lambda: screen.progress.hints.get(step.id) == 2, pilot)
        assert f"hint 2 of {total}" in detail(app)
        assert screen.query_one(StepList).hints[step.id] == f"hints 2/{total}"
        assert step.hints[1].strip()[:30] in detail(app)
        assert any(f"Hint 2 of {total} is under the step" in n for n in notes(app))
        for _ in range(total - 2):
            await pilot.press("h")
        await until(lambda: screen.progress.hints.get(step.id) == total, pilot)

        await pilot.press("o")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot)
        await pilot.press("y")
        await until(lambda: isinstance(app.screen, SolutionScreen), pilot)
        assert "infra.py" in app.screen.files
        assert "FifoQueue" in app.screen.files["infra.py"]
        await pilot.press("escape")
        await until(lambda: app.screen is screen, pilot)


async def test_start_over_changes_asks_first(labs: Path, quizzes: Path,
                                            tutor_home: Path) -> None:
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(app, pilot)
        await pilot.press("s")
        await until(lambda: screen.progress.started, pilot)
        infra = tutor_home / "workspace" / "09-fifo" / "infra.py"
        infra.write_text("# my work\n")
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot)
        assert "infra.py" in app.screen.body
        await pilot.press("n")  # keep my work
        await pilot.pause(0.3)
        assert infra.read_text() == "# my work\n"
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot)
        await pilot.press("y")
        await until(lambda: "TODO" in infra.read_text(), pilot)
        assert (tutor_home / "workspace" / "09-fifo.bak" / "infra.py").read_text() == \
            "# my work\n"


@pytest.mark.localstack
async def test_reset_confirms_then_reports_what_it_deleted(labs: Path, quizzes: Path,
                                                           localstack: Endpoint,
                                                           tutor_home: Path) -> None:
    from tutor.cloud.clients import client

    app = make_app(labs_dir=labs, quizzes_dir=quizzes, endpoint=localstack.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(app, pilot)
        await until(lambda: screen.query_one(ConnectionBar).state.phase == "ready", pilot)
        await pilot.press("s")
        await until(lambda: screen.progress.started, pilot)
        sqs = client("sqs", localstack)
        sqs.create_queue(QueueName="lab09-leftover")
        infra = tutor_home / "workspace" / "09-fifo" / "infra.py"
        infra.write_text("# broken\n")

        await pilot.press("r")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot)
        assert "lab09-" in app.screen.body
        await pilot.press("n")
        await pilot.pause(0.3)
        assert infra.read_text() == "# broken\n"  # cancelled: nothing happened

        await pilot.press("r")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot)
        await pilot.press("y")
        await until(lambda: isinstance(app.screen, InfoDialog), pilot, seconds=60)
        report = app.screen.markdown
        assert "lab09-leftover" in report and "starter is back" in report
        assert "TODO" in infra.read_text()
        urls = sqs.list_queues(QueueNamePrefix="lab09-").get("QueueUrls", [])
        assert urls == []


@pytest.mark.localstack
async def test_watch_mode_checks_again_on_save(labs: Path, quizzes: Path,
                                               localstack: Endpoint, tutor_home: Path) -> None:
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, endpoint=localstack.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(app, pilot)
        await until(lambda: screen.query_one(ConnectionBar).state.phase == "ready", pilot)
        await pilot.press("w")  # not started yet: refused
        await pilot.pause()
        assert not screen.watching
        await pilot.press("s")
        await until(lambda: screen.progress.started, pilot)
        await pilot.press("w")
        await until(lambda: "watching" in status(app), pilot)
        await pilot.pause(1.5)  # the watcher takes its first look
        assert screen.progress.last_score == ""  # nothing saved yet: nothing checked
        infra = tutor_home / "workspace" / "09-fifo" / "infra.py"
        infra.write_text(infra.read_text() + "\n# saved\n")
        # The note first: it expires after a few seconds, and a check on a loaded machine
        # can take longer than that.
        await until(lambda: any("Saved: checking again" in n for n in notes(app)), pilot,
                    seconds=30)
        await until(lambda: screen.progress.last_score != "" and not screen.checking, pilot,
                    seconds=60)
        assert screen.query_one(StepList).states["fifo-queue"].status == "failed"
        watcher = screen.query_one(WorkspaceWatcher)
        polling = [w for w in app.workers if w.node is watcher]
        assert polling and polling[0].is_running
        await pilot.press("w")
        await until(lambda: "watch off" in status(app), pilot)
        assert not screen.query(WorkspaceWatcher)
        assert polling[0].is_cancelled  # the polling thread is told to stop


async def test_check_needs_localstack_and_says_so(labs: Path, quizzes: Path) -> None:
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        assert not screen.checking
        assert any("LocalStack not ready" in n for n in notes(app))
        assert screen.query_one(StepList).states["fifo-queue"].status == "not checked"


async def test_invalid_lab_is_a_blocking_error(labs: Path, quizzes: Path) -> None:
    from tutor.ui.dialogs.error import ErrorDialog
    from tutor.ui.screens.home import HomeScreen

    yaml_file = labs / "09-fifo" / "lab.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("minutes:", "minutez:"))
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await home_ready(app, pilot)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, ErrorDialog), pilot)
        assert "`minutes`" in app.screen.error.message  # names the file and the field
        assert app.screen.error.title == "Invalid lab content"
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, HomeScreen), pilot)


async def test_reopened_lab_shows_earlier_results_and_hints(labs: Path, quizzes: Path) -> None:
    from tutor.engine.labs.api import get_lab
    from tutor.engine.progress import open_store

    store = open_store()
    store.record_step("09-fifo", "fifo-queue", 5, 5, True, {"status": "passed", "checks": [
        {"id": "orders-fifo", "title": "The FIFO queue exists", "passed": True,
         "message": "Found lab09-orders.fifo."}]})
    top = get_lab("09-fifo", labs).step("groups-and-dedup").max_score
    store.record_step("09-fifo", "groups-and-dedup", top / 4, top, False, {"status": "failed"})
    store.mark_lab("09-fifo", hint=("fifo-dlq", 1))
    store.close()
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(app, pilot)
        steps = screen.query_one(StepList)
        await until(lambda: steps.option_count == len(screen.lab.spec.steps), pilot)
        assert steps.states["fifo-queue"].status == "passed"
        assert steps.states["groups-and-dedup"].label == "partial 25%"
        assert steps.hints["fifo-dlq"].startswith("hints 2/")
        assert "Found lab09-orders.fifo." in detail(app)  # step 1 is selected
        assert "from an earlier session" in detail(app)
        assert "passed" in str(steps.get_option("fifo-queue").prompt)
