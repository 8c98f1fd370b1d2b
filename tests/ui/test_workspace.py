"""The workspace inside the tutor: tree, editor, save, syntax check, external changes,
TODO, diff, and the run pane, through the pilot against the real LocalStack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Label, Log, TextArea

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs import editing
from tutor.engine.labs.loader import load_lab
from tutor.ui.app import make_app
from tutor.ui.dialogs.confirm import ConfirmDialog
from tutor.ui.dialogs.solution import SolutionScreen
from tutor.ui.screens.lab import LabScreen
from tutor.ui.screens.workspace import WorkspaceScreen, WorkspaceTree

from .helpers import SIZE, notes, until
from .test_lab_screen import open_lab


def _status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#ws-status", Label).render())


@pytest.mark.localstack
async def test_edit_save_check_syntax_reload_diff_and_run(labs: Path, quizzes: Path,
                                                          localstack: Endpoint) -> None:
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, endpoint=localstack.url)
    async with app.run_test(size=SIZE) as pilot:
        lab_screen = await open_lab(app, pilot)
        await pilot.press("e")  # not started: nothing to edit yet
        await until(lambda: any("Start the lab first" in n for n in notes(app)), pilot)
        await pilot.press("s")
        await until(lambda: lab_screen.progress.started, pilot)
        await pilot.press("e")
        await until(lambda: isinstance(app.screen, WorkspaceScreen), pilot)
        screen = app.screen
        editor = screen.query_one("#ws-editor", TextArea)
        assert screen.rel == "infra.py" and editor.language == "python"  # the step's file
        infra = lab_screen.progress.workspace / "infra.py"
        assert editor.text == infra.read_text()

        await pilot.press("ctrl+t")  # the next TODO
        assert "TODO" in editor.document.get_line(editor.cursor_location[0])
        editor.move_cursor((editor.document.line_count, 0))
        await pilot.press(*"def broken(:", "enter")
        assert _status(app).startswith("● infra.py")  # unsaved
        await pilot.press("ctrl+s")
        await until(lambda: "does not parse" in " ".join(notes(app)), pilot)
        assert "def broken(:" in infra.read_text() and not screen.unsaved
        assert not list(infra.parent.glob(".infra.py.*"))  # the temp file was renamed

        await pilot.press(*"# more")  # unsaved edits, and another editor saves the file
        os.utime(infra, None)
        infra.write_text(infra.read_text().replace("def broken(:\n", ""))
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot, seconds=10)
        assert "changed on disk" in app.screen.body
        await pilot.press("y")
        await until(lambda: editor.text == infra.read_text(), pilot)

        await pilot.press("ctrl+l")
        await until(lambda: isinstance(app.screen, SolutionScreen), pilot)
        assert list(app.screen.files) == ["infra.py vs starter.diff"]  # solution not earned
        assert "no difference" in next(iter(app.screen.files.values()))
        await pilot.press("escape")
        await until(lambda: app.screen is screen, pilot)

        await pilot.press("f8")  # the step's program, with the tutor's environment
        pane = screen.query_one("#ws-run", Log)
        await until(lambda: "exit status" in str(pane.border_title), pilot, seconds=60)
        assert "infra.py: exit status" in str(pane.border_title)

        await pilot.press("x")  # typed into the file: unsaved
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, ConfirmDialog), pilot)
        await pilot.press("n")  # keep editing
        await until(lambda: app.screen is screen, pilot)
        await pilot.press("ctrl+z", "escape")  # undone: nothing unsaved, leaves at once
        await until(lambda: isinstance(app.screen, LabScreen), pilot)


def test_the_tree_shows_the_workspace_only(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "node_modules" / "x").mkdir(parents=True)
    (work / "app.py").write_text("print(1)\n")
    (work / ".env").write_text("SECRET=1\n")
    (work / ".shipped").write_text("kept\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    (work / "leak.txt").symlink_to(outside)
    tree = WorkspaceTree(work, {".shipped"})
    shown = {p.name for p in tree.filter_paths(work.iterdir())}
    assert shown == {"app.py", ".shipped"}


def test_save_is_atomic_keeps_the_mode_and_syntax_names_the_line(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("echo 1\n")
    script.chmod(0o755)
    editing.save(script, "echo 2\n")
    assert script.read_text() == "echo 2\n" and script.stat().st_mode & 0o777 == 0o755
    assert editing.syntax_problem("a.py", "x = (\n") == "line 1: '(' was never closed"
    assert editing.syntax_problem("a.json", '{"a": 1\n"b": 2}').startswith("line 2:")
    assert editing.syntax_problem("a.yaml", "a: [1,\n") is not None
    assert editing.syntax_problem("a.py", "x = 1\n") is None
    assert editing.next_todo("a\n# TODO one\nb\n# TODO two\n", 1) == 3
    assert editing.next_todo("# TODO one\nb\n", 1) == 0  # wraps


def test_each_step_names_a_file_and_the_first_step_a_program() -> None:
    from tutor.locations import PROJECT_ROOT

    for lab_dir in sorted((PROJECT_ROOT / "labs").iterdir()):
        if not (lab_dir / "lab.yaml").is_file():
            continue
        lab = load_lab(lab_dir)
        for step in lab.spec.steps:
            name = editing.step_file(lab, step)
            assert name and (lab.starter / name).is_file(), (lab.id, step.id, name)


def test_a_public_served_tab_edits_only_with_a_sandbox(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tutor import sandbox

    monkeypatch.setenv(editing.SERVED_ENV, "loopback")
    assert editing.editing_refused() == ""
    monkeypatch.setenv(editing.SERVED_ENV, "public")
    monkeypatch.setattr(sandbox, "problem", lambda: "")
    assert editing.editing_refused() == ""  # its programs run sandboxed
    monkeypatch.setattr(sandbox, "problem", lambda: "bubblewrap (bwrap) is not installed")
    refused = editing.editing_refused()
    assert "needs a sandbox" in refused and "bwrap" in refused and "\n" not in refused


@pytest.mark.localstack
async def test_f5_runs_the_commands_that_show_what_a_failed_check_read(
        labs: Path, quizzes: Path, localstack: Endpoint) -> None:
    app = make_app(labs_dir=labs, quizzes_dir=quizzes, endpoint=localstack.url)
    async with app.run_test(size=SIZE) as pilot:
        lab_screen = await open_lab(app, pilot)
        await pilot.press("s")
        await until(lambda: lab_screen.progress.started, pilot)
        await pilot.press("c")  # the starter fails the first step
        await until(lambda: not lab_screen.checking and lab_screen.progress.reports, pilot,
                    seconds=60)
        report = lab_screen.progress.reports[lab_screen.selected]
        commands = [c for check in report.checks if not check.passed for c in check.by_hand]
        assert commands and all(c.startswith("awslocal ") for c in commands), report
        await pilot.press("e")
        await until(lambda: isinstance(app.screen, WorkspaceScreen), pilot)
        await pilot.press("f5")
        pane = app.screen.query_one("#ws-run", Log)
        await until(lambda: "exit status" in str(pane.border_title), pilot, seconds=60)
        shown = "\n".join(pane.lines)
        assert f"$ {commands[0]}" in shown, shown
        assert "QueueDoesNotExist" in shown or "NonExistentQueue" in shown, shown
