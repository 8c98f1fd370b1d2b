"""The workspace's run pane: the step's program, or the by-hand commands of its failed
checks, run one after another in a worker, their output streamed into a `Log`."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.widgets import Log
from textual.worker import Worker, WorkerState, get_current_worker

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint
    from tutor.engine.labs.loader import Lab
    from tutor.engine.labs.scenario import ScenarioRunner

RUN_LIMIT = 300.0  # seconds a program started from the run pane may run
RUN_LINES = 2000  # scrollback of the run pane


class RunPane(Log):
    """Hidden until something runs; `running` while it does."""

    DEFAULT_CSS = """
    RunPane { height: 10; border-top: solid $primary-darken-2; display: none; }
    RunPane.-shown { display: block; }
    """

    class Output(Message):
        """RunPane's worker, while a run goes on and when it ends -> the pane itself
        (on_run_pane_output), which shows it, then bubbles up to the screen for its
        status line."""

        def __init__(self, text: str, status: str) -> None:
            super().__init__()
            self.text, self.status = text, status

        @property
        def ended(self) -> bool:
            return not self.status.startswith("running")

    def __init__(self, lab: Lab, workspace: Path, **kwargs: object) -> None:
        super().__init__(max_lines=RUN_LINES, **kwargs)  # type: ignore[arg-type]
        self.lab, self.workspace = lab, workspace
        self.running = False

    def start(self, runs: list[str] | list[list[str]], endpoint: Endpoint) -> None:
        """Each of `runs` in turn: a workspace program, or a command (a list of words)."""
        self.add_class("-shown")
        self.clear()
        self.running = True
        self._run_all(runs, endpoint)

    def stop(self) -> None:
        self.workers.cancel_group(self, "run")

    @work(thread=True, exclusive=True, group="run", exit_on_error=False)
    def _run_all(self, runs: list[str] | list[list[str]], endpoint: Endpoint) -> None:
        from tutor.engine.labs.scenario import ScenarioRunner

        worker = get_current_worker()
        runner = ScenarioRunner(self.lab.id, self.lab.prefix, endpoint, self.workspace)
        text, status = "", "nothing ran"
        try:
            for run in runs:
                if worker.is_cancelled:
                    break
                text, status = self._run_one(runner, run, text)
        finally:
            runner.close()
        self.post_message(self.Output(text, status))

    def _run_one(self, runner: ScenarioRunner, run: str | list[str],
                 earlier: str) -> tuple[str, str]:
        """Run one program or command, streaming its output below `earlier` (a command's
        output under its `$ command` line); the pane's text and status when it ended."""
        worker = get_current_worker()
        name = run if isinstance(run, str) else shlex.join(run)
        head = earlier if isinstance(run, str) else f"{earlier}$ {name}\n"
        started = time.monotonic()
        proc = runner.start(run, measure=False) if isinstance(run, str) \
            else runner.start_command(run)
        shown = ""
        while proc.alive and not worker.is_cancelled and \
                time.monotonic() - started < RUN_LIMIT:
            text = proc.output(RUN_LINES)
            if text != shown:
                shown = text
                self.post_message(self.Output(head + text, f"running {name} …"))
            time.sleep(0.2)
        stopped = proc.alive
        code = proc.stop() if stopped else proc.wait(5)
        seconds = time.monotonic() - started
        why = ("stopped by you" if worker.is_cancelled else
               f"stopped after {RUN_LIMIT:g} s" if stopped else f"exit status {code}")
        return head + proc.output(RUN_LINES) + "\n", f"{name}: {why}, {seconds:.1f} s"

    def on_run_pane_output(self, message: Output) -> None:
        self.clear()
        self.write(message.text + "\n")
        self.border_title = message.status
        if message.ended:
            self.running = False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "run" and event.state in (WorkerState.ERROR,
                                                           WorkerState.CANCELLED):
            self.running = False
