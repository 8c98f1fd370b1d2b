"""Worker failures become the one error model; a bug keeps its traceback in crash.log."""

from __future__ import annotations

from pathlib import Path

from tutor.errors import LocalStackUnreachable, TutorError
from tutor.ui.app import make_app
from tutor.ui.dialogs.error import ErrorDialog
from tutor.ui.failures import as_tutor_error

from .helpers import notes, until


def test_a_bug_becomes_one_line_and_a_crash_log(tutor_home: Path) -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        problem = as_tutor_error(exc)
    assert problem.title == "Internal error"
    assert "KeyError" in problem.message and "crash.log" in problem.fix
    log = (tutor_home / "crash.log").read_text()
    assert "Traceback" in log and "KeyError: 'missing'" in log


def test_tutor_errors_pass_through() -> None:
    error = LocalStackUnreachable("http://127.0.0.1:9")
    assert as_tutor_error(error) is error


async def test_toast_for_transient_dialog_for_blocking(tmp_path: Path) -> None:
    app = make_app(labs_dir=tmp_path, quizzes_dir=tmp_path, connect=False)
    async with app.run_test() as pilot:
        app.show_error(TutorError("the check could not run", "Check", "try again"))
        await pilot.pause()
        assert any("the check could not run — try again" in n for n in notes(app))
        app.show_error(TutorError("the lab is broken", "Invalid lab", "fix lab.yaml"),
                       blocking=True)
        await until(lambda: isinstance(app.screen, ErrorDialog), pilot)
        assert app.screen.error.fix == "fix lab.yaml"
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, ErrorDialog), pilot)
