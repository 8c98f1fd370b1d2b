"""Message timeline: pick a recent message of the lab's queues, see its observed life."""

from __future__ import annotations

from rich.console import Group
from rich.padding import Padding
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker

from tutor.cloud.endpoint import Endpoint
from tutor.engine.observe.timeline import MessageSummary, Step, lifecycle, recent_messages
from tutor.engine.observe.trace import TraceLog
from tutor.errors import TutorError
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.footer import Footer

REFRESH_S = 1.0
_STATE_STYLE = {"in flight": "bold", "in DLQ": "bold reverse", "deleted": "dim",
                "expired": "dim", "purged": "dim"}


def _short(message_id: str) -> str:
    return message_id[:8]


def steps_text(steps: list[Step]) -> Group:
    """The timeline: one line per event, its exam pointer indented below it."""
    parts: list[Text | Padding] = []
    for step in steps:
        head = Text()
        head.append(f"{step.offset:>6.1f}s ", style="dim")
        head.append(step.title, style="bold")
        head.append(f"  {step.event.queue}", style="dim")
        pointer = Text(step.pointer.text)
        if step.pointer.tag:
            pointer.append(f" [{step.pointer.tag}]", style="italic")
        parts += [head, Padding(pointer, (0, 0, 0, 8))]
    return Group(*parts)


class TimelineScreen(TutorScreen):
    """Recent messages of `queues` on the left, the highlighted one's timeline on the right."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("p", "pause", "Pause/resume"),
        Binding("r", "refresh_now", "Refresh"),
        Binding("tab", "focus_next", "Switch pane", show=False),
    ]

    DEFAULT_CSS = """
    #timeline-status { height: 1; padding: 0 1; background: $boost; color: $text-muted; }
    #timeline-status.-off { color: $warning; }
    #timeline-body { height: 1fr; }
    #timeline-messages { width: 2fr; min-width: 30; max-width: 44; height: 1fr;
        border-right: solid $primary-darken-2; }
    #timeline-detail { width: 3fr; height: 1fr; padding: 0 1; }
    #timeline-title { color: $primary; text-style: bold; }
    """

    def __init__(self, endpoint: Endpoint | str, queues: list[str],
                 account: str | None = None) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.queues = list(queues)
        self.account = account
        self.trace_log = TraceLog(endpoint, account=account, queues=self.queues)
        self.messages: list[MessageSummary] = []
        self.selected: str | None = None
        self.paused = False
        self.problem = ""  # why the trace cannot be read right now ("" when fine)
        self.refreshes = 0  # completed polls, for tests and the status line

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="timeline-status", markup=False)
        with Horizontal(id="timeline-body"):
            table: DataTable[str | Text] = DataTable(id="timeline-messages",
                                                     cursor_type="row", zebra_stripes=True)
            yield table
            with VerticalScroll(id="timeline-detail"):
                yield Static("", id="timeline-title", markup=False)
                yield Static("", id="timeline-steps")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Message timeline · " + ", ".join(self.queues)
        table = self.query_one("#timeline-messages", DataTable)
        # the queue last: a long name is what gets cut at 80 columns
        table.add_column("id", key="id")
        table.add_column("rc", key="rc")
        table.add_column("state", key="state")
        table.add_column("queue", key="queue")
        self.show_status()
        self.show_detail()
        self.poll()
        self.set_interval(REFRESH_S, self.tick)

    # -- polling --------------------------------------------------------------------------

    def tick(self) -> None:
        if not self.paused:
            self.poll()

    @work(thread=True, exclusive=True, group="timeline", exit_on_error=False)
    def poll(self) -> None:
        try:
            self.trace_log.poll()
            problem = "" if self.trace_log.available else self.trace_log.reason
        except TutorError as exc:  # transient: shown in the status line, retried next tick
            problem = exc.message
        messages = recent_messages(self.trace_log.events, self.queues)
        self.app.call_from_thread(self.apply, messages, problem)

    def worker_failed(self, worker: Worker[object]) -> None:
        self.paused = True  # a bug, not LocalStack: do not raise the same dialog every second
        self.show_status()

    def apply(self, messages: list[MessageSummary], problem: str) -> None:
        if self.paused:  # a poll still in flight when the learner paused: the view stays
            return
        self.refreshes += 1
        self.problem = problem
        if messages != self.messages:
            self.messages = messages
            self.fill_table()
        self.show_status()
        self.show_detail()

    # -- drawing --------------------------------------------------------------------------

    def short_queue(self, name: str) -> str:
        """`orders-dlq` for `lab04-orders-dlq`: at 80 columns only the part after the lab's
        shared prefix tells the queues apart (the subtitle names them in full)."""
        heads = {queue.split("-", 1)[0] for queue in self.queues}
        if len(self.queues) < 2 or len(heads) != 1 or "-" not in name:
            return name
        return name.removeprefix(f"{heads.pop()}-") or name

    def fill_table(self) -> None:
        table = self.query_one("#timeline-messages", DataTable)
        keep = self.selected
        table.clear()
        for m in self.messages:
            table.add_row(_short(m.message_id), str(m.receive_count),
                          Text(m.state, style=_STATE_STYLE.get(m.state, "")),
                          self.short_queue(m.queue), key=m.message_id)
        ids = [m.message_id for m in self.messages]
        if keep in ids:
            table.move_cursor(row=ids.index(keep), animate=False)
        elif ids:
            self.selected = ids[0]

    def show_status(self) -> None:
        status = self.query_one("#timeline-status", Static)
        status.set_class(bool(self.problem) or self.paused, "-off")
        if self.problem:
            status.update(f"✖ {self.problem}")
            return
        lost = self.trace_log.dropped
        dropped = f" · {lost} events lost (buffer full)" if lost else ""
        state = "paused (p resumes)" if self.paused else f"live, every {REFRESH_S:g} s"
        status.update(f"{len(self.messages)} messages · observed in the tutor's LocalStack · "
                      f"{state}{dropped}")

    def show_detail(self) -> None:
        title = self.query_one("#timeline-title", Static)
        body = self.query_one("#timeline-steps", Static)
        if self.problem and not self.messages:
            title.update("No timeline")
            body.update(Text(self.problem))
            return
        if self.selected is None:
            title.update("No messages yet")
            body.update(Text("Send a message to " + " or ".join(self.queues)
                             + "; it shows up here within a second."))
            return
        steps = lifecycle(self.trace_log.events, self.selected, self.account)
        title.update(f"Message {self.selected}")
        body.update(steps_text(steps))

    # -- events and actions ---------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None and event.row_key.value != self.selected:
            self.selected = str(event.row_key.value)
            self.show_detail()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.show_status()

    def action_refresh_now(self) -> None:
        self.poll()
