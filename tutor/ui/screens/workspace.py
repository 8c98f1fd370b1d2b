"""The lab's workspace inside the tutor: a file tree, a code editor, and a run pane for the
step's program — the hands-on part of a lab without another editor or shell."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DirectoryTree, Header, Label, TextArea

from tutor.engine.labs import editing
from tutor.engine.labs.loader import Lab
from tutor.engine.labs.model import Step
from tutor.errors import TutorError
from tutor.ui.dialogs.confirm import ConfirmDialog, if_confirmed
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.footer import Footer
from tutor.ui.widgets.in_order import InOrderTextArea
from tutor.ui.widgets.run_pane import RunPane

if TYPE_CHECKING:
    pass


def after_typing(act: Callable[[WorkspaceScreen], None]) -> Callable[[WorkspaceScreen], None]:
    """The action `act`, done once the editor has taken every key typed before it. This
    screen's keys are priority bindings, seen before the editor handles the keys queued
    for it: ctrl+s right after typing (a fast typist, a paste, a browser's batch of keys)
    saved the file without its last characters."""
    def action(screen: WorkspaceScreen) -> None:
        screen.editor.call_later(act, screen)

    return action


class WorkspaceTree(DirectoryTree):
    """The workspace only: no path outside it, no symlink that leads out, no generated
    folder, no dotfile the starter did not ship."""

    def __init__(self, workspace: Path, dotfiles: set[str], **kwargs: object) -> None:
        super().__init__(workspace, **kwargs)  # type: ignore[arg-type]
        self.workspace, self.dotfiles = workspace, dotfiles

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if editing.visible(self.workspace, p, self.dotfiles)]


class WorkspaceScreen(TutorScreen):
    DEFAULT_CSS = """
    WorkspaceScreen #ws-body { height: 1fr; }
    WorkspaceScreen WorkspaceTree { width: 24; border-right: solid $primary-darken-2; }
    WorkspaceScreen #ws-main { width: 1fr; }
    WorkspaceScreen #ws-status { height: 1; padding: 0 1; background: $boost; }
    WorkspaceScreen #ws-editor { height: 1fr; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("f8", "run", "Run", priority=True),
        Binding("f9", "stop", "Stop", show=False, priority=True),
        Binding("f5", "evidence", "See it yourself", show=False, priority=True),
        Binding("ctrl+t", "todo", "TODO", priority=True),
        Binding("ctrl+l", "diff", "Diff", priority=True),
        Binding("ctrl+f", "find", "Find", show=False, priority=True),
        Binding("ctrl+g", "goto", "Go to line", show=False, priority=True),
        Binding("ctrl+o", "external", "Your editor", show=False, priority=True),
        Binding("escape", "leave", "Back", priority=True),  # before the editor's own
    ]

    def __init__(self, lab: Lab, workspace: Path, step: Step | None, *,
                 solution_open: bool = False, run_now: bool = False,
                 evidence: list[str] | None = None) -> None:
        super().__init__()
        self.lab, self.workspace, self.step = lab, workspace, step
        self.evidence = evidence or []  # the step's failed checks' by-hand commands
        self.solution_open = solution_open
        self.run_now = run_now
        self.rel: str | None = None
        self.saved_text = ""
        self.mtime = 0.0
        self.find_text = ""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="ws-body"):
            yield WorkspaceTree(self.workspace, editing.shipped(self.lab), id="ws-tree")
            with Vertical(id="ws-main"):
                yield Label("", id="ws-status", markup=False)
                yield InOrderTextArea.code_editor("", id="ws-editor")
                yield RunPane(self.lab, self.workspace, id="ws-run")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"{self.lab.title} — workspace"
        first = editing.step_file(self.lab, self.step) if self.step else None
        if first and (self.workspace / first).is_file():
            self.open_file(first)
        self.set_interval(1.0, self.notice_external_change)
        if self.run_now:
            self._run()

    @property
    def editor(self) -> TextArea:
        return self.query_one("#ws-editor", TextArea)

    @property
    def unsaved(self) -> bool:
        return self.rel is not None and self.editor.text != self.saved_text

    # --- files -------------------------------------------------------------------------

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        rel = str(Path(event.path).relative_to(self.workspace))
        if rel == self.rel:
            self.editor.focus()
        elif self.unsaved:
            self.app.push_screen(ConfirmDialog(
                "Discard your changes?", f"{self.rel} has unsaved changes.", "Discard",
                "Keep editing", danger=True), if_confirmed(lambda: self.open_file(rel)))
        else:
            self.open_file(rel)

    def open_file(self, rel: str) -> None:
        try:
            path, text = editing.open_text(self.workspace, rel)
        except TutorError as exc:
            self.notify(exc.one_line(), title=exc.title, severity="error", markup=False)
            return
        self.rel, self.saved_text, self.mtime = rel, text, path.stat().st_mtime
        editor = self.editor
        language = editing.LANGUAGES.get(path.suffix)
        editor.language = language if language in editor.available_languages else None
        editor.load_text(text)
        editor.focus()
        self.show_status()

    def show_status(self, note: str = "") -> None:
        if self.rel is None:
            text = "Pick a file in the tree (enter opens it)"
        else:
            row, col = self.editor.cursor_location
            text = (f"{'● ' if self.unsaved else ''}{self.rel} · line {row + 1}, col {col + 1}"
                    + (f" · {note}" if note else ""))
        self.query_one("#ws-status", Label).update(text)

    def on_text_area_changed(self, _event: TextArea.Changed) -> None:
        self.show_status()

    def on_text_area_selection_changed(self, _event: TextArea.SelectionChanged) -> None:
        self.show_status()

    def _save(self) -> None:
        if self.rel is None:
            return
        path = self.workspace / self.rel
        text = self.editor.text
        try:
            editing.save(path, text)
        except OSError as exc:
            self.notify(f"Could not save {self.rel}: {exc}", title="Not saved",
                        severity="error", markup=False)
            return
        self.saved_text, self.mtime = text, path.stat().st_mtime
        problem = editing.syntax_problem(self.rel, text)
        if problem:
            self.notify(f"{self.rel}, {problem}", title="Saved, but it does not parse",
                        severity="warning", markup=False, timeout=8)
            self.show_status(problem)
        else:
            self.show_status("saved")

    def notice_external_change(self) -> None:
        """Another editor saved the file: reload it, or ask when there are edits here."""
        if self.rel is None:
            return
        path = self.workspace / self.rel
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        if mtime == self.mtime:
            return
        self.mtime = mtime
        rel = self.rel
        if not self.unsaved:
            self.open_file(rel)
            self.notify(f"{rel} changed on disk and was reloaded", title="Reloaded")
        else:
            self.app.push_screen(ConfirmDialog(
                "Reload from disk?", f"{rel} changed on disk (another editor?). Reloading "
                "loses your unsaved edits here.", "Reload", "Keep mine", danger=True),
                if_confirmed(lambda: self.open_file(rel)))

    # --- moving around -----------------------------------------------------------------

    def _todo(self) -> None:
        line = editing.next_todo(self.editor.text, self.editor.cursor_location[0])
        if line is None:
            self.notify("No TODO left in this file", title="TODO")
            return
        self.editor.move_cursor((line, 0), center=True)
        self.editor.focus()

    def _goto(self) -> None:
        from tutor.ui.dialogs.prompt import PromptDialog

        def go(text: str | None) -> None:
            if text and text.strip().isdigit():
                row = max(0, min(int(text) - 1, self.editor.document.line_count - 1))
                self.editor.move_cursor((row, 0), center=True)
                self.editor.focus()

        self.app.push_screen(PromptDialog("Go to line", "a line number"), go)

    def _find(self) -> None:
        from tutor.ui.dialogs.prompt import PromptDialog

        def find(text: str | None) -> None:
            if not text:
                return
            self.find_text = text
            lines = self.editor.text.splitlines()
            row, col = self.editor.cursor_location
            order = [(row, col + 1)] + [(r, 0) for r in range(row + 1, len(lines))] + \
                [(r, 0) for r in range(0, row + 1)]
            for r, start in order:
                at = lines[r].find(text, start) if r < len(lines) else -1
                if at >= 0:
                    self.editor.select_line(r)
                    self.editor.move_cursor((r, at), center=True)
                    self.editor.focus()
                    return
            self.notify(f"{text!r} is not in this file", title="Find")

        self.app.push_screen(PromptDialog("Find", "text", self.find_text), find)

    def _diff(self) -> None:
        from tutor.ui.dialogs.solution import SolutionScreen

        if self.rel is None:
            return
        diffs = {f"{self.rel} vs starter.diff":
                 editing.diff(self.lab, self.rel, self.editor.text, "starter")}
        if self.solution_open:  # the same gate as the solution itself
            diffs[f"{self.rel} vs solution.diff"] = editing.diff(
                self.lab, self.rel, self.editor.text, "solution")
        self.app.push_screen(SolutionScreen("Your file against the starter" + (
            " and the solution" if self.solution_open else ""), diffs))

    def _external(self) -> None:
        """Your own editor ($VISUAL or $EDITOR), in a real terminal: the app suspends."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if self.rel is None or not editor:
            self.notify("Set $EDITOR (or $VISUAL) to open files in your own editor",
                        title="Your editor", severity="warning")
            return
        if self.unsaved:
            self._save()
        try:
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), str(self.workspace / self.rel)],
                               check=False)
        except Exception as exc:  # no terminal to hand over (a browser tab)
            self.notify(f"Cannot open your editor here: {exc}", title="Your editor",
                        severity="warning", markup=False)
            return
        self.open_file(self.rel)

    # --- running -----------------------------------------------------------------------

    def _run(self) -> None:
        program = editing.step_program(self.step) if self.step else None
        program = program or (self.rel if self.rel and self.rel.endswith(".py") else None)
        if program is None:
            self.notify("This step has no program to run: the tutor's checks start its "
                        "programs", title="Run")
            return
        if self.running:
            self.notify("A program is running already (f9 stops it)", title="Run")
            return
        if self.unsaved:
            self._save()
        self.run_in_pane([program])

    def action_evidence(self) -> None:
        """Run the by-hand commands of the step's failed checks in the run pane."""
        if not self.evidence:
            self.notify("No failed check of this step read AWS: check first (c on the lab "
                        "screen), then f5 shows what it saw", title="See it yourself")
            return
        if self.running:
            self.notify("A program is running already (f9 stops it)", title="Run")
            return
        self.run_in_pane([shlex.split(command) for command in self.evidence])

    def run_in_pane(self, runs: list[str] | list[list[str]]) -> None:
        endpoint = self.tutor.endpoint_or_toast()
        if endpoint is not None:
            self.run_pane.start(runs, endpoint)

    @property
    def run_pane(self) -> RunPane:
        return self.query_one(RunPane)

    @property
    def running(self) -> bool:
        return self.run_pane.running

    def action_stop(self) -> None:
        self.run_pane.stop()

    def on_run_pane_output(self, message: RunPane.Output) -> None:
        self.show_status(message.status)

    # --- leaving -----------------------------------------------------------------------

    def _leave(self) -> None:
        if self.unsaved:
            self.app.push_screen(ConfirmDialog(
                "Leave without saving?", f"{self.rel} has unsaved changes.", "Leave",
                "Keep editing", danger=True), if_confirmed(self.leave))
        else:
            self.leave()

    def leave(self) -> None:
        self.run_pane.stop()
        self.app.pop_screen()

    (action_save, action_run, action_leave, action_diff, action_external, action_todo,
     action_goto, action_find) = map(
        after_typing, (_save, _run, _leave, _diff, _external, _todo, _goto, _find))
