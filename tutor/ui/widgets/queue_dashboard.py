"""The lab screen's live queue dashboard: it samples the lab's queues about once a second
in a thread worker while it is shown, runs the lab's chaos actions, opens the timeline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.dashboard import DashboardFrame, DashboardSampler
from tutor.engine.labs.loader import Lab
from tutor.errors import TutorError
from tutor.ui.widgets.queue_rows import GaugeRow, QueueRow, put

# kind: (key, what the border calls it, the chooser's title when the lab has several)
CHAOS_KINDS = {"poison": ("p", "poison", "Send a poison message"),
               "burst": ("u", "burst", "Send a burst"),
               "stop_consumer": ("k", "stop consumer", "Stop a consumer")}


class QueueDashboard(Vertical):
    """Hidden until `shown`; while shown on the screen in front it samples the lab's
    queues (every AWS call in a worker) and its keys work.

    The screen hands it the lab, the workspace and how to get the endpoint now, binds
    `KEYS` (Textual routes a key along the focus chain, and the dashboard never has the
    focus) and forwards them to `chaos` and `open_timeline`; it hears back through
    `ChaosDone` and `Failed`.
    """

    KEYS = [*(Binding(key, f"chaos('{kind}')", label.capitalize(), show=False)
              for kind, (key, label, _) in CHAOS_KINDS.items()),
            Binding("t", "timeline", "Timeline", show=False)]
    ACTIONS = frozenset({"chaos", "timeline"})

    DEFAULT_CSS = """
    QueueDashboard {
        height: auto;
        max-height: 50%;
        border: round $primary-darken-2;
        border-title-color: $text;
        padding: 0 1;
        overflow-y: auto;
    }
    QueueDashboard #dash-head { color: $text-muted; height: auto; }
    QueueDashboard #dash-queues, QueueDashboard #dash-gauges { height: auto; }
    QueueDashboard #dash-head.-stale { color: $warning; }
    """

    shown: reactive[bool] = reactive(False, init=False, bindings=True)
    frame: reactive[DashboardFrame | None] = reactive(None, always_update=True, init=False)
    problem: reactive[str] = reactive("", init=False)  # why the figures are not current

    class Sampled(Message, bubble=False):
        """QueueDashboard.sample_queues (worker), about once a second ->
        QueueDashboard.on_queue_dashboard_sampled (its own figures; does not bubble)."""

        def __init__(self, frame: DashboardFrame | None, problem: str = "") -> None:
            super().__init__()
            self.frame, self.problem = frame, problem

    class ChaosDone(Message):
        """QueueDashboard.run_chaos_action (worker) -> LabScreen.on_queue_dashboard_chaos_done:
        a toast with what happened."""

        def __init__(self, label: str, line: str) -> None:
            super().__init__()
            self.label, self.line = label, line

    class Failed(Message):
        """QueueDashboard, when one of its workers failed or LocalStack is not ready for
        the timeline -> LabScreen.on_queue_dashboard_failed: the app's error path (a toast)."""

        def __init__(self, error: BaseException) -> None:
            super().__init__()
            self.error = error

    def __init__(self, lab: Lab, *, workspace: Path, endpoint: Callable[[], Endpoint],
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lab, self.workspace = lab, workspace
        self.endpoint = endpoint  # the LocalStack to use now; raises TutorError if none
        self.display = False
        self.border_title = "Live queues"
        self.border_subtitle = " · ".join(
            [f"{key} {label}" for kind, (key, label, _) in CHAOS_KINDS.items()
             if self._has_chaos(kind)] + ["t timeline"])
        # Kept while hidden and under a dialog: the history survives them.
        self._sampler: DashboardSampler | None = None
        self._sampling = threading.Lock()  # a cancelled worker may still be in its last sample
        self._seen_at: float | None = None
        self._rows: dict[str, QueueRow] = {}
        self._gauge_rows: list[GaugeRow] = []

    def compose(self) -> ComposeResult:
        yield Static(f"Reading the {self.lab.prefix}* queues …", id="dash-head", markup=False)
        yield Vertical(id="dash-queues")
        yield Vertical(id="dash-gauges")

    def on_mount(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._sample_while_watched)

    @property
    def rows(self) -> dict[str, QueueRow]:
        """The queue rows shown, by queue name, in order."""
        return dict(self._rows)

    def _has_chaos(self, kind: str) -> bool:
        return any(a.kind == kind for a in self.lab.spec.chaos)

    def offers(self, action: str, parameters: tuple[object, ...] = ()) -> bool:
        """Whether its key for `action` works now: while shown, a chaos kind the lab has."""
        if not self.shown or action not in self.ACTIONS:
            return False
        return action != "chaos" or self._has_chaos(str(parameters[0]))

    # --- sampling ----------------------------------------------------------------------

    def watch_shown(self, shown: bool) -> None:
        self.display = shown
        self._sample_while_watched()

    def _sample_while_watched(self, _screen: object = None) -> None:
        """Samples while shown on the screen in front: nobody watches it under a dialog."""
        if self.shown and self.screen.is_current:
            self.sample_queues()
        else:
            self.workers.cancel_group(self, "dashboard")

    @work(thread=True, exclusive=True, group="dashboard", exit_on_error=False)
    def sample_queues(self) -> None:
        """About once a second until cancelled; LocalStack away is shown, never raised."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            tick = time.monotonic()
            try:
                endpoint = self.endpoint()
            except TutorError as exc:
                self.post_message(self.Sampled(None, exc.message))
            else:
                with self._sampling:
                    sampler = self._sampler
                    if sampler is None or sampler.endpoint != endpoint:
                        sampler = self._sampler = DashboardSampler(
                            self.lab, endpoint, workspace=self.workspace)
                    frame = sampler.sample()
                self.post_message(self.Sampled(frame, frame.error))
            while not worker.is_cancelled and time.monotonic() - tick < 1.0:
                time.sleep(0.05)

    def on_queue_dashboard_sampled(self, message: Sampled) -> None:
        self.problem = message.problem
        if message.frame is not None:
            self.frame = message.frame

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Its workers' state changes reach only it (they do not bubble): the screen shows them.
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.post_message(self.Failed(event.worker.error))

    # --- the keys ----------------------------------------------------------------------

    def chaos(self, kind: str) -> None:
        """The lab's chaos action of `kind`: at once if it has one, else the learner picks."""
        actions = [a for a in self.lab.spec.chaos if a.kind == kind]
        if len(actions) == 1:
            self.run_chaos_action(actions[0].id)
        elif actions:
            def chosen(action_id: str | None) -> None:
                if action_id:
                    self.run_chaos_action(action_id)

            title = CHAOS_KINDS[kind][2] if kind in CHAOS_KINDS else kind
            self.app.push_screen(ChaosChooser(title, [(a.id, a.label) for a in actions]),
                                 chosen)

    @work(thread=True, group="chaos", exit_on_error=False)
    def run_chaos_action(self, action_id: str) -> None:
        from tutor.engine.labs.chaos import action, run_chaos

        endpoint = self.endpoint()  # a TutorError here is a toast (Failed), like the rest
        line = run_chaos(self.lab, action_id, endpoint, workspace=self.workspace)
        self.post_message(self.ChaosDone(action(self.lab, action_id).label, line))

    def open_timeline(self) -> None:
        """The message timeline of the queues shown."""
        from tutor.ui.screens.timeline import TimelineScreen

        try:
            endpoint = self.endpoint()
        except TutorError as exc:
            self.post_message(self.Failed(exc))
            return
        if not self._rows:
            self.notify(f"No {self.lab.prefix}* queue yet", title="Timeline",
                        severity="warning")
            return
        # The learner's LocalStack account (a shared classroom LocalStack has several).
        account = getattr(endpoint, "account", None)
        self.app.push_screen(TimelineScreen(endpoint, list(self._rows), account=account))

    # --- what is shown -----------------------------------------------------------------

    def watch_frame(self, frame: DashboardFrame | None) -> None:
        if frame is None:
            return
        if not frame.error:
            self._seen_at = frame.at
        if list(self._rows) != [q.name for q in frame.queues]:
            box = self.query_one("#dash-queues")
            box.remove_children()
            self._rows = {q.name: QueueRow(q.name) for q in frame.queues}
            box.mount_all(self._rows.values())
        for queue in frame.queues:
            self._rows[queue.name].show(queue, frame.trace)
        if [r.label for r in self._gauge_rows] != [g.label for g in frame.gauges]:
            gauges = self.query_one("#dash-gauges")
            gauges.remove_children()
            self._gauge_rows = [GaugeRow(g.label) for g in frame.gauges]
            gauges.mount_all(self._gauge_rows)
        for row, gauge in zip(self._gauge_rows, frame.gauges, strict=True):
            row.show(gauge)
        self._head(frame.error or self.problem, frame)

    def watch_problem(self, problem: str) -> None:
        self._head(problem, self.frame)

    def _head(self, problem: str, frame: DashboardFrame | None) -> None:
        head = self.query_one("#dash-head", Static)
        if problem:
            when = time.strftime("%H:%M:%S", time.localtime(self._seen_at)) \
                if self._seen_at else "none yet"
            put(head, f"{problem} — last figures: {when}")
        elif frame is None:
            return
        elif not frame.queues:
            put(head, f"No {self.lab.prefix}* queue yet — create the lab's queues (infra.py)")
        else:
            trace = f" · rates {frame.trace}" if frame.trace else ""
            count = len(frame.queues)
            put(head, f"{count} queue{'s' if count != 1 else ''} · every 1 s · "
                      f"{frame.cost_ms:.0f} ms/sample{trace}")
        head.set_class(bool(problem), "-stale")


class ChaosChooser(ModalScreen[str | None]):
    """Pick one of several chaos actions; dismisses with its id (None on escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ChaosChooser { align: center middle; }
    ChaosChooser > Vertical {
        width: 60; max-width: 95%; height: auto; border: round $warning;
        background: $surface; padding: 0 1;
    }
    ChaosChooser OptionList { height: auto; max-height: 12; }
    """

    def __init__(self, title: str, actions: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text, self.actions = title, actions

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, markup=False)
            yield OptionList(*[Option(label, id=action_id)
                               for action_id, label in self.actions])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
