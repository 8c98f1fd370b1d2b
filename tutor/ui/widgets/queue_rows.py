"""The rows of the live queue dashboard: one per queue (figures, sparklines), one per gauge."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline, Static

from tutor.engine.labs.dashboard import GaugeFigures, QueueFigures

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


def put(widget: Static, text: str, *, fixed: bool = False) -> None:
    """Show `text` in `widget` only when it changed; `fixed`: its box has a fixed size, so a
    new text needs a repaint, not a layout of the whole screen (the lab screen's README is
    long: a layout of it each sampling tick slowed every key during a burst)."""
    if getattr(widget, "_shown_text", None) != text:
        widget._shown_text = text  # type: ignore[attr-defined]
        widget.update(text, layout=not fixed)


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
        put(self.query_one(".queue-name", Label), queue.name, fixed=True)
        for series, short in SHORT.items():
            now = getattr(queue, series)
            put(self.query_one(f"#n-{series}", Label), f"{short} {now:,}", fixed=True)
            self.query_one(f"#s-{series}", Sparkline).data = list(queue.history[series])
        line = queue_line(queue, trace)
        put(self.query_one(".queue-rates", Static), f"DLQ · {line}" if queue.dlq else line)


class GaugeRow(Horizontal):
    """One of the lab's gauges: label, current figure (or why there is none), history."""

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
        put(self.query_one(".gauge-text", Label), gauge.text, fixed=True)
        self.query_one(Sparkline).data = list(gauge.history)
