"""One lab: brief, steps and the learner loop (start, check, hint, solution, reset, watch)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Header, Label, OptionList, Static, TabbedContent

from tutor.engine.catalog import Entry
from tutor.engine.labs.api import Lab
from tutor.ui import lab_text
from tutor.ui.dialogs.confirm import ConfirmDialog, if_confirmed
from tutor.ui.dialogs.info import InfoDialog
from tutor.ui.dialogs.solution import SolutionScreen
from tutor.ui.lab_progress import LabProgress
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.connection import ConnectionBar
from tutor.ui.widgets.footer import Footer
from tutor.ui.widgets.lab_brief import LabBrief
from tutor.ui.widgets.lab_runner import LabRunner
from tutor.ui.widgets.queue_dashboard import QueueDashboard
from tutor.ui.widgets.step_list import StepList, StepState
from tutor.ui.widgets.workspace_watcher import WorkspaceWatcher

LAB_ACTIONS = {"start", "check", "hint", "solution", "reset", "watch", "dashboard", "editor",
               "run_step"}


class LabScreen(TutorScreen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("s", "start", "Start"),
        Binding("c", "check", "Check"),
        Binding("h", "hint", "Hint"),
        Binding("o", "solution", "Solution"),
        Binding("r", "reset", "Reset", show=False),  # rare and destructive: in help (?)
        Binding("w", "watch", "Watch", show=False),  # the status line names it
        Binding("e", "editor", "Edit"),
        Binding("x", "run_step", "Run"),
        Binding("d", "dashboard", "Queues", tooltip="Live queue dashboard (show/hide)"),
        # The rest stay out of the 80-column footer: the tabs name v/m, and the dashboard's
        # border lists its own keys (p, u, k, t) while it is shown.
        Binding("v", "page('overview')", "Overview", show=False),
        Binding("m", "page('readme')", "README", show=False),
        *QueueDashboard.KEYS,
    ]

    def __init__(self, entry: Entry) -> None:
        super().__init__()
        self.entry = entry
        self.lab: Lab | None = None
        self.progress = LabProgress(Path("."))  # replaced when the lab has loaded
        self._checking = False
        self.dashboard: QueueDashboard | None = None  # mounted when the lab has loaded

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Loading lab {self.entry.id} …", id="lab-status", markup=False)
        with Horizontal(id="lab-body"):
            with Vertical(id="lab-steps", classes="pane"):
                yield Label("Steps", classes="pane-title")
            yield LabBrief(id="lab-tabs")
        yield LabRunner(self.course, self.entry.id)  # every engine call of the lab
        yield ConnectionBar()
        yield Footer(compact=True)  # every key fits 80 columns

    def on_mount(self) -> None:
        self.sub_title = self.entry.title
        self.runner.load()

    # --- loading ---------------------------------------------------------------------

    def on_lab_runner_loaded(self, message: LabRunner.Loaded) -> None:
        lab = self.lab = message.lab
        self.progress = progress = LabProgress.from_status(message.state)
        steps = StepList([(s.id, s.title) for s in lab.spec.steps], id="steps")
        self.query_one("#lab-steps").mount(steps)
        for step in lab.spec.steps:
            steps.set_hints(step.id, progress.hints.get(step.id, 0), len(step.hints))
            if step.id in progress.scores:
                steps.set_state(step.id, StepState.of(*progress.scores[step.id]))
        self.query_one(LabBrief).set_pages(lab_text.overview(lab), message.readme)
        self.dashboard = QueueDashboard(lab, workspace=progress.workspace,
                                        endpoint=self.tutor.endpoint, id="dashboard")
        self.mount(self.dashboard, before=self.query_one(ConnectionBar))
        steps.focus()
        if not progress.started:  # a first visit starts with what the lab is about
            self.show_page("overview")
        self.refresh_bindings()
        self.show_status()
        self.show_step()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in LAB_ACTIONS and self.lab is None:
            return None  # shown dimmed in the footer until the lab has loaded
        if action in {"start", "check", "reset"} and self._checking:
            return None  # not under a running check (reset would delete what it reads)
        if action in QueueDashboard.ACTIONS:  # only while it is shown
            return self.dashboard is not None and self.dashboard.offers(action, parameters)
        return True

    @property
    def runner(self) -> LabRunner:
        return self.query_one(LabRunner)

    def on_lab_runner_failed(self, message: LabRunner.Failed) -> None:
        if message.group == "open":
            self.dismiss()  # first: the dialog then shows over the screen before it
        elif message.group == "check":
            self.checking = False
            self.step_list.settle(self.progress.reports)
        self.show_status()
        self.tutor.show_error(message.error, blocking=message.group == "open")

    @property
    def checking(self) -> bool:
        return self._checking

    @checking.setter
    def checking(self, value: bool) -> None:
        self._checking = value
        self.refresh_bindings()
        for watcher in self.query(WorkspaceWatcher):
            watcher.paused = value  # the checks' own programs write files

    # --- what is shown -----------------------------------------------------------------

    def show_status(self) -> None:
        if self.lab is None:
            return
        progress = self.progress
        if progress.started:
            where = f"Workspace: {progress.workspace} — e edits it here"
        else:
            where = f"Not started — press s to copy the starter into {progress.workspace}"
        parts = [where, "watching (w stops)" if self.watching else "watch off (w)"]
        if self.checking:
            parts.append("checking …")
        elif progress.last_score:
            parts.append(progress.last_score)
        self.query_one("#lab-status", Static).update(" · ".join(parts))

    @property
    def step_list(self) -> StepList:
        return self.query_one("#steps", StepList)

    @property
    def selected(self) -> str | None:
        return self.step_list.selected_step if self.lab else None

    # --- the workspace inside the tutor ------------------------------------------------

    def action_editor(self) -> None:
        self.open_workspace(run=False)

    def action_run_step(self) -> None:
        self.open_workspace(run=True)

    def open_workspace(self, run: bool) -> None:
        from tutor.engine.labs.editing import editing_refused
        from tutor.ui.screens.workspace import WorkspaceScreen

        if self.lab is None:
            return
        refused = editing_refused()
        if refused:
            self.notify(refused[0].upper() + refused[1:], title="Not in this tab",
                        severity="warning", markup=False, timeout=10)
            return
        if not self.progress.started:
            self.notify("Start the lab first (s): it copies the starter into your workspace",
                        title="No workspace yet", severity="warning")
            return
        step = self.lab.step(self.selected) if self.selected else None
        closed = self.progress.solution_closed(step) if step is not None else "no step"
        report = self.progress.reports.get(step.id) if step is not None else None
        evidence = [command for check in (report.checks if report else [])
                    if not check.passed for command in check.by_hand]
        self.app.push_screen(WorkspaceScreen(self.lab, self.progress.workspace, step,
                                             solution_open=not closed, run_now=run,
                                             evidence=evidence))

    def report_item(self) -> str | None:
        step = self.selected
        return f"{self.lab.id}/{step}" if self.lab is not None and step else None

    def show_step(self) -> None:
        step_id = self.selected
        if self.lab is None or step_id is None:
            return
        index = [s.id for s in self.lab.spec.steps].index(step_id)
        progress = self.progress
        brief = lab_text.step_brief(index, self.lab.step(step_id),
                                    progress.hints.get(step_id, 0),
                                    progress.reports.get(step_id), progress.details.get(step_id))
        self.query_one(LabBrief).show_step(brief)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_step()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.show_page("step")

    # --- start -------------------------------------------------------------------------

    def action_start(self) -> None:
        self.runner.start(self.progress.workspace, force=False)

    def on_lab_runner_needs_force(self, message: LabRunner.NeedsForce) -> None:
        self.app.push_screen(ConfirmDialog(
            "Start over?", lab_text.start_over(self.progress.workspace, message.changed),
            "Start over", "Keep my work", danger=True),
            if_confirmed(lambda: self.runner.start(self.progress.workspace, force=True)))

    def on_lab_runner_started(self, message: LabRunner.Started) -> None:
        self.show_page("step")
        self.progress.started = True
        self.progress.workspace = message.workspace
        self.notify(f"Starter copied to {message.workspace} — e edits it here, or open it "
                    "in your own editor",
                    title="Lab started", markup=False)
        self.show_status()

    # --- check -------------------------------------------------------------------------

    def action_check(self) -> None:
        if self.checking:
            return
        endpoint = self.tutor.endpoint_or_toast()
        if endpoint is None:
            return
        self.checking = True
        self.step_list.start_check()
        self.show_status()
        self.runner.check(endpoint)

    def on_lab_runner_step_checked(self, message: LabRunner.StepChecked) -> None:
        report = message.report
        self.progress.record(report)
        self.step_list.checked(report)
        if report.step_id == self.selected:
            self.show_step()

    def on_lab_runner_checked(self, message: LabRunner.Checked) -> None:
        report = message.report
        self.checking = False
        self.step_list.settle(self.progress.reports)
        self.notify(self.progress.finish(report),
                    title="Lab complete!" if report.passed else "Checked",
                    severity="information" if report.passed else "warning")
        self.step_list.select_first_failed()  # show what to work on next
        self.show_status()
        self.show_step()

    # --- hints and solution --------------------------------------------------------------

    def action_hint(self) -> None:
        if self.selected:
            self.runner.hint(self.selected)

    def on_lab_runner_hint_shown(self, message: LabRunner.HintShown) -> None:
        hint = message.hint
        self.step_list.set_hints(hint.step_id, self.progress.saw_hint(hint), hint.total)
        self.show_page("step")
        last = " — the last one: the solution (o) is open now" if hint.last else ""
        self.notify(f"Hint {hint.index + 1} of {hint.total} is under the step{last}",
                    title="Hint", timeout=4)
        self.show_step()

    def action_solution(self) -> None:
        step_id = self.selected
        if self.lab is None or step_id is None:  # (for mypy: check_action saw to it)
            return
        closed = self.progress.solution_closed(self.lab.step(step_id))
        if closed:
            self.notify(closed, title="Not yet", severity="warning")
            return
        self.app.push_screen(ConfirmDialog(
            "Show the solution?", f"Show the reference solution of step "
            f"`{step_id}`? It is recorded as seen.", "Show it", "Not now"),
            if_confirmed(lambda: self.runner.solution(step_id)))

    def on_lab_runner_solution_read(self, message: LabRunner.SolutionRead) -> None:
        self.progress.lab_open = True  # a solution shown opens every one (the engine's rule)
        self.app.push_screen(SolutionScreen(f"Solution of step {message.step_id}",
                                            message.files))

    # --- reset -------------------------------------------------------------------------

    def action_reset(self) -> None:
        if self.lab is None:
            return
        endpoint = self.tutor.endpoint_or_toast()
        if endpoint is None:
            return
        self.app.push_screen(ConfirmDialog(
            "Reset the lab?", lab_text.reset_warning(self.lab, self.progress.workspace),
            "Reset", "Cancel", danger=True),
            if_confirmed(lambda: self.runner.reset(endpoint)))

    def on_lab_runner_reset_done(self, message: LabRunner.ResetDone) -> None:
        result = message.result
        self.progress.restart(result.workspace)
        self.step_list.set_all(StepState("not checked"))
        self.show_status()
        self.show_step()
        self.app.push_screen(InfoDialog("Lab reset", lab_text.reset_report(result)))

    # --- watch -------------------------------------------------------------------------

    def action_watch(self) -> None:
        watchers = self.query(WorkspaceWatcher)
        if watchers:
            watchers.remove()
            self.notify("Watch mode off", title="Watch")
        elif not self.progress.started:
            self.notify("Start the lab first (s)", title="Watch", severity="warning")
        else:
            self.mount(WorkspaceWatcher(self.progress.workspace))
            self.notify("Checking again whenever you save a file in the workspace",
                        title="Watch mode on")
        self.call_after_refresh(self.show_status)

    @property
    def watching(self) -> bool:
        return bool(self.query(WorkspaceWatcher))

    def on_workspace_watcher_saved(self, message: WorkspaceWatcher.Saved) -> None:
        if not self.checking:
            self.notify(", ".join(message.files[:3]), title="Saved: checking again",
                        markup=False)
            self.action_check()

    # --- the live queue dashboard: it samples and runs the chaos; its keys are bound here --

    def action_dashboard(self) -> None:
        if self.dashboard is not None:
            self.dashboard.shown = not self.dashboard.shown

    def action_chaos(self, kind: str) -> None:
        if self.dashboard is not None:
            self.dashboard.chaos(kind)

    def action_timeline(self) -> None:
        if self.dashboard is not None:
            self.dashboard.open_timeline()

    def on_queue_dashboard_chaos_done(self, message: QueueDashboard.ChaosDone) -> None:
        self.notify(message.line, title=message.label, markup=False, timeout=8)

    def on_queue_dashboard_failed(self, message: QueueDashboard.Failed) -> None:
        self.tutor.show_error(message.error)

    # --- navigation ----------------------------------------------------------------------

    def action_page(self, page: str) -> None:
        self.show_page("step" if self.query_one(LabBrief).page == page else page)

    def show_page(self, page: str) -> None:
        """Show one page of the brief in a single layout: the step list beside the step,
        the overview and the README alone (their diagrams are ~100 columns wide); focus
        goes to what the keys then move (the step list, or the page to scroll)."""
        brief = self.query_one(LabBrief)
        with self.app.batch_update():
            brief.reveal(page)
            self._settle_page(page)

    def _settle_page(self, page: str) -> None:
        on_step = page == "step"
        self.query_one("#lab-steps").display = on_step
        if not on_step:
            self.query_one(LabBrief).scroller(page).focus(scroll_visible=False)
        elif self.lab is not None:
            self.step_list.focus(scroll_visible=False)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # A tab clicked with the mouse; after show_page this finds everything in place.
        self._settle_page(event.pane.id.removeprefix("tab-") if event.pane.id else "step")

    def action_back(self) -> None:
        if self.query_one(LabBrief).page != "step":
            self.show_page("step")  # escape closes the overview / README first
        else:
            self.app.pop_screen()
