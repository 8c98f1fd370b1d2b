"""The lab screen's live queue dashboard, its chaos actions and the message timeline key."""

from __future__ import annotations

import time
from typing import Any

from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from tutor.engine.labs.dashboard import DashboardFrame, DashboardSampler
from tutor.engine.labs.loader import Lab
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.queue_dashboard import ChaosChooser, QueueDashboard

# Shown only while the dashboard is: what they do is watched there.
DASHBOARD_ACTIONS = {"chaos", "timeline"}
DASHBOARD_KEYS = (("p", ("chaos", "poison"), "poison"), ("u", ("chaos", "burst"), "burst"),
                  ("k", ("chaos", "stop_consumer"), "stop consumer"),
                  ("t", ("timeline",), "timeline"))
CHAOS_KINDS = {"poison": "Send a poison message", "burst": "Send a burst",
               "stop_consumer": "Stop a consumer"}


class LabDashboard(TutorScreen):
    """The dashboard half of LabScreen (which sets `lab`, `progress`, `_sampler` and
    `_sampling`); a base class rather than a mixin, so that it is type-checked."""

    lab: Lab | None
    progress: Any
    _sampler: DashboardSampler | None
    _sampling: Any

    class DashboardSampled(Message):
        """LabDashboard.sample_queues (worker), about once a second ->
        on_lab_dashboard_dashboard_sampled."""

        def __init__(self, frame: DashboardFrame | None, problem: str = "") -> None:
            super().__init__()
            self.frame, self.problem = frame, problem

    class ChaosDone(Message):
        """LabDashboard.chaos (worker) -> on_lab_dashboard_chaos_done: a toast with what
        happened."""

        def __init__(self, label: str, line: str) -> None:
            super().__init__()
            self.label, self.line = label, line

    @property
    def dashboard_shown(self) -> bool:
        return bool(self.query_one(QueueDashboard).display)

    def action_dashboard(self) -> None:
        dashboard = self.query_one(QueueDashboard)
        dashboard.display = not dashboard.display
        if dashboard.display:
            dashboard.border_subtitle = self.dashboard_keys()
            self.sample_queues()
        else:
            self.workers.cancel_group(self, "dashboard")
        self.refresh_bindings()

    def dashboard_keys(self) -> str:
        """The dashboard's keys this lab offers, for the dashboard's border."""
        keys = [(key, label) for key, action, label in DASHBOARD_KEYS
                if self.check_action(action[0], action[1:]) is not False]
        return " · ".join(f"{key} {label}" for key, label in keys)

    def on_screen_suspend(self) -> None:
        self.workers.cancel_group(self, "dashboard")  # nobody watches it under a dialog

    def on_screen_resume(self) -> None:  # (TutorScreen's handler runs too: Textual's MRO)
        if self.lab is not None and self.dashboard_shown:
            self.sample_queues()

    def on_unmount(self) -> None:
        self.workers.cancel_group(self, "dashboard")

    @work(thread=True, exclusive=True, group="dashboard", exit_on_error=False)
    def sample_queues(self) -> None:
        """About once a second until cancelled; LocalStack away is shown, never raised."""
        from tutor.errors import TutorError

        assert self.lab is not None
        worker = get_current_worker()
        while not worker.is_cancelled:
            tick = time.monotonic()
            try:
                endpoint = self.tutor.endpoint()
            except TutorError as exc:
                self.post_message(self.DashboardSampled(None, exc.message))
            else:
                with self._sampling:  # a cancelled worker may still be in its last sample
                    sampler = self._sampler
                    if sampler is None or sampler.endpoint != endpoint:
                        # kept on the screen: the history survives a dialog or the timeline
                        sampler = self._sampler = DashboardSampler(
                            self.lab, endpoint, workspace=self.progress.workspace)
                    frame = sampler.sample()
                self.post_message(self.DashboardSampled(frame, frame.error))
            while not worker.is_cancelled and time.monotonic() - tick < 1.0:
                time.sleep(0.05)

    def on_lab_dashboard_dashboard_sampled(self, message: DashboardSampled) -> None:
        dashboard = self.query_one(QueueDashboard)
        dashboard.problem = message.problem
        if message.frame is not None:
            dashboard.frame = message.frame

    def action_chaos(self, kind: str) -> None:
        if self.lab is None:
            return
        actions = [a for a in self.lab.spec.chaos if a.kind == kind]
        if len(actions) == 1:
            self.chaos(actions[0].id)
        elif actions:
            def chosen(action_id: str | None) -> None:
                if action_id:
                    self.chaos(action_id)

            self.app.push_screen(
                ChaosChooser(CHAOS_KINDS.get(kind, kind), [(a.id, a.label) for a in actions]),
                chosen)

    @work(thread=True, group="chaos", exit_on_error=False)
    def chaos(self, action_id: str) -> None:
        from tutor.engine.labs.chaos import action, run_chaos

        assert self.lab is not None
        endpoint = self.tutor.endpoint()  # a TutorError here is a toast, like the rest
        line = run_chaos(self.lab, action_id, endpoint, workspace=self.progress.workspace)
        self.post_message(self.ChaosDone(action(self.lab, action_id).label, line))

    def on_lab_dashboard_chaos_done(self, message: ChaosDone) -> None:
        self.notify(message.line, title=message.label, markup=False, timeout=8)

    def action_timeline(self) -> None:
        from tutor.ui.screens.timeline import TimelineScreen

        endpoint = self.tutor.endpoint_or_toast()
        if endpoint is None:
            return
        queues = list(self.query_one(QueueDashboard).rows)
        if not queues:
            self.notify(f"No {self.lab.prefix if self.lab else ''}* queue yet",
                        title="Timeline", severity="warning")
            return
        # The learner's LocalStack account (a shared classroom LocalStack has several).
        account = getattr(endpoint, "account", None)
        self.app.push_screen(TimelineScreen(endpoint, queues, account=account))
