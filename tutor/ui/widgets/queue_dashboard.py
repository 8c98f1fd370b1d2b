"""The live queue dashboard: per queue sparklines of depth, traced rates, the lab's gauges."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Sparkline, Static
from textual.widgets.option_list import Option

from tutor.engine.labs.dashboard import DashboardFrame, GaugeFigures, QueueFigures

SHORT = {"visible": "vis", "in_flight": "fly", "delayed": "dly"}


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _rate(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def queue_line(queue: QueueFigures, trace: str) -> str:
    """The figures under a queue's sparklines: rates and the oldest message's age."""
    if queue.rates is None:
        return f"sent/recv/del per s: n/a · oldest: n/a ({trace.removeprefix('n/a: ')})"
    r = queue.rates
    return (f"sent {_rate(r['sent'])}/s · recv {_rate(r['received'])}/s · "
            f"del {_rate(r['deleted'])}/s · oldest {_age(queue.oldest_age)}"
            + (" (observed)" if queue.oldest_age is not None else ""))


class QueueRow(Vertical):
    """One queue: name, then visible / in flight / delayed with their history."""

    DEFAULT_CSS = """
    QueueRow { height: auto; }
    QueueRow > Horizontal { height: 1; }
    QueueRow .queue-name { width: 22; text-style: bold; color: $accent; }
    QueueRow.-dlq .queue-name { color: $error; }
    QueueRow .figure { width: 10; color: $text; }
    QueueRow Sparkline { width: 1fr; height: 1; margin-right: 1; }
    QueueRow .queue-rates { color: $text-muted; padding-left: 2; height: auto; }
    """

    def __init__(self, name: str) -> None:
        super().__init__(classes="queue-row")
        self.queue_name = name
        self._latest: tuple[QueueFigures, str] | None = None
        self._ready = False

    def on_mount(self) -> None:
        self._ready = True
        if self._latest is not None:
            self.show(*self._latest)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.queue_name, classes="queue-name", markup=False)
            for series, short in SHORT.items():
                yield Label(f"{short} -", id=f"n-{series}", classes="figure")
                yield Sparkline([], id=f"s-{series}", summary_function=max)
        yield Static("", classes="queue-rates", markup=False)

    def show(self, queue: QueueFigures, trace: str) -> None:
        self._latest = (queue, trace)
        if not self._ready:
            return  # shown on mount
        self.set_class(queue.dlq, "-dlq")
        self.query_one(".queue-name", Label).update(queue.name)
        for series, short in SHORT.items():
            now = getattr(queue, series)
            self.query_one(f"#n-{series}", Label).update(f"{short} {now:,}")
            self.query_one(f"#s-{series}", Sparkline).data = list(queue.history[series])
        line = queue_line(queue, trace)
        self.query_one(".queue-rates", Static).update(f"DLQ · {line}" if queue.dlq else line)


class GaugeRow(Horizontal):
    DEFAULT_CSS = """
    GaugeRow { height: 1; }
    GaugeRow .gauge-label { width: 12; text-style: bold; color: $secondary; }
    GaugeRow .gauge-text { width: 34; }
    GaugeRow Sparkline { width: 1fr; height: 1; }
    """

    def __init__(self, label: str) -> None:
        super().__init__(classes="gauge-row")
        self.label = label
        self._latest: GaugeFigures | None = None
        self._ready = False

    def on_mount(self) -> None:
        self._ready = True
        if self._latest is not None:
            self.show(self._latest)

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="gauge-label", markup=False)
        yield Label("-", classes="gauge-text", markup=False)
        yield Sparkline([], summary_function=max)

    def show(self, gauge: GaugeFigures) -> None:
        self._latest = gauge
        if not self._ready:
            return  # shown on mount
        self.query_one(".gauge-text", Label).update(gauge.text)
        self.query_one(Sparkline).data = list(gauge.history)


class QueueDashboard(Vertical):
    """Shows the frames it is given (`frame`, `problem`); samples nothing itself."""

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

    frame: reactive[DashboardFrame | None] = reactive(None, always_update=True, init=False)
    problem: reactive[str] = reactive("", init=False)  # why the figures are not current

    def __init__(self, prefix: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.prefix = prefix
        self.border_title = "Live queues"
        self._seen_at: float | None = None
        self._rows: dict[str, QueueRow] = {}
        self._gauge_rows: list[GaugeRow] = []

    def compose(self) -> ComposeResult:
        yield Static(f"Reading the {self.prefix}* queues …", id="dash-head", markup=False)
        yield Vertical(id="dash-queues")
        yield Vertical(id="dash-gauges")

    @property
    def rows(self) -> dict[str, QueueRow]:
        """The queue rows shown, by queue name, in order."""
        return dict(self._rows)

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
            head.update(f"{problem} — last figures: {when}")
        elif frame is None:
            return
        elif not frame.queues:
            head.update(f"No {self.prefix}* queue yet — create the lab's queues (infra.py)")
        else:
            trace = f" · rates {frame.trace}" if frame.trace else ""
            count = len(frame.queues)
            head.update(f"{count} queue{'s' if count != 1 else ''} · every 1 s · "
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
