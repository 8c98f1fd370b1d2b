"""The lab screen's engine calls off the UI thread: load, start, check, hint, solution, reset.

A non-visual widget, like WorkspaceWatcher: LabScreen decides what to do and asks it;
each call runs in a thread worker of its own, and what it found comes back up as a
message. Its workers stop with it (and it with its screen).
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.api import Hint, Lab, LabReport, LabStatus, ResetResult, StepReport
from tutor.ui.course import Course


class LabRunner(Widget):
    DEFAULT_CSS = "LabRunner { display: none; }"

    class Loaded(Message):
        """LabRunner.load (worker) -> LabScreen.on_lab_runner_loaded: the lab, its typed
        status and README."""

        def __init__(self, lab: Lab, state: LabStatus, readme: str) -> None:
            super().__init__()
            self.lab, self.state, self.readme = lab, state, readme

    class Started(Message):
        """LabRunner.start (worker) -> LabScreen.on_lab_runner_started: the workspace
        exists now."""

        def __init__(self, workspace: Path) -> None:
            super().__init__()
            self.workspace = workspace

    class NeedsForce(Message):
        """LabRunner.start (worker), when files would be overwritten ->
        LabScreen.on_lab_runner_needs_force: asks first."""

        def __init__(self, changed: list[str]) -> None:
            super().__init__()
            self.changed = changed

    class StepChecked(Message):
        """LabRunner.check (worker), once per step as results stream in ->
        LabScreen.on_lab_runner_step_checked."""

        def __init__(self, report: StepReport) -> None:
            super().__init__()
            self.report = report

    class Checked(Message):
        """LabRunner.check (worker), at the end -> LabScreen.on_lab_runner_checked: the
        score line, the next failed step."""

        def __init__(self, report: LabReport) -> None:
            super().__init__()
            self.report = report

    class HintShown(Message):
        """LabRunner.hint (worker) -> LabScreen.on_lab_runner_hint_shown: shows it under
        the step."""

        def __init__(self, hint: Hint) -> None:
            super().__init__()
            self.hint = hint

    class SolutionRead(Message):
        """LabRunner.solution (worker) -> LabScreen.on_lab_runner_solution_read: opens the
        solution screen."""

        def __init__(self, step_id: str, files: dict[str, str]) -> None:
            super().__init__()
            self.step_id, self.files = step_id, files

    class ResetDone(Message):
        """LabRunner.reset (worker) -> LabScreen.on_lab_runner_reset_done: what was deleted
        and restored."""

        def __init__(self, result: ResetResult) -> None:
            super().__init__()
            self.result = result

    class Failed(Message):
        """LabRunner, when one of its workers failed -> LabScreen.on_lab_runner_failed:
        puts the screen right and shows the error (a dialog if the lab did not load)."""

        def __init__(self, group: str, error: BaseException) -> None:
            super().__init__()
            self.group, self.error = group, error

    def __init__(self, course: Course, lab_id: str) -> None:
        super().__init__()
        self.course, self.lab_id = course, lab_id  # the course blocks: only used in workers
        self.lab: Lab | None = None  # set by `load`

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Its workers' state changes reach only it (they do not bubble): the screen shows them.
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.post_message(self.Failed(event.worker.group, event.worker.error))

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def load(self) -> None:
        from tutor.engine.labs.api import lab_status

        lab = self.lab = self.course.lab(self.lab_id)
        state = lab_status(lab, self.course.store())
        readme = lab.readme.read_text(encoding="utf-8", errors="replace") \
            if lab.readme.is_file() else "*This lab has no README.*"
        self.post_message(self.Loaded(lab, state, readme))

    @work(thread=True, exclusive=True, group="start", exit_on_error=False)
    def start(self, workspace: Path, force: bool) -> None:
        from tutor.engine.labs.api import changed_files, start_lab

        assert self.lab is not None  # (`load` came first: the screen waits for it)
        if not force:
            changed = changed_files(self.lab)
            if workspace.is_dir() and changed:
                self.post_message(self.NeedsForce(changed))
                return
        self.post_message(self.Started(start_lab(self.lab, force=force, store=self.course.store())))

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def check(self, endpoint: Endpoint) -> None:
        from tutor.engine.labs.api import run_checks

        assert self.lab is not None
        def streamed(step: StepReport) -> None:
            self.post_message(self.StepChecked(step))

        report = run_checks(self.lab, endpoint, store=self.course.store(), on_result=streamed)
        self.post_message(self.Checked(report))

    @work(thread=True, exclusive=True, group="hint", exit_on_error=False)
    def hint(self, step_id: str) -> None:
        from tutor.engine.labs.api import next_hint

        assert self.lab is not None
        self.post_message(self.HintShown(next_hint(self.lab, step_id, self.course.store())))

    @work(thread=True, exclusive=True, group="solution", exit_on_error=False)
    def solution(self, step_id: str) -> None:
        from tutor.engine.labs.api import reveal_solution

        assert self.lab is not None
        files = reveal_solution(self.lab, self.course.store(), step_id)
        self.post_message(self.SolutionRead(step_id, files))

    @work(thread=True, exclusive=True, group="reset", exit_on_error=False)
    def reset(self, endpoint: Endpoint) -> None:
        from tutor.engine.labs.api import reset_lab

        assert self.lab is not None
        self.post_message(self.ResetDone(reset_lab(self.lab, endpoint, self.course.store())))
