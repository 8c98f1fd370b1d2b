"""The live queue dashboard's sampler: queue depths, traced message rates, the lab's gauges."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.loader import Lab
from tutor.engine.labs.model import Gauge
from tutor.errors import TutorError, from_boto

HISTORY = 120  # samples kept per series: two minutes at one sample a second
SERIES = ("visible", "in_flight", "delayed")
ATTRIBUTES = {"ApproximateNumberOfMessages": "visible",
              "ApproximateNumberOfMessagesNotVisible": "in_flight",
              "ApproximateNumberOfMessagesDelayed": "delayed"}
RATE_WINDOW_S = 5.0  # sent/received/deleted per second, averaged over this window
LIST_EVERY = 3  # ticks between ListQueues calls (a new queue shows within 3 s)
TRACE_EVENTS = 20_000  # the lab's trace events kept for the age of the oldest message


@dataclass(frozen=True)
class QueueFigures:
    """One queue at one sample, with its recent history (oldest first)."""

    name: str
    dlq: bool
    visible: int
    in_flight: int
    delayed: int
    history: dict[str, tuple[float, ...]]
    rates: dict[str, float] | None  # sent/received/deleted per second; None: no trace
    oldest_age: float | None  # seconds; None: empty queue, or no trace


@dataclass(frozen=True)
class GaugeFigures:
    label: str
    value: float | None  # None: not measurable now (`text` says why)
    text: str
    history: tuple[float, ...]


@dataclass(frozen=True)
class DashboardFrame:
    """What one tick saw. `error` set: LocalStack did not answer, queue figures are the last."""

    at: float
    queues: tuple[QueueFigures, ...]
    gauges: tuple[GaugeFigures, ...]
    trace: str  # "" when the trace is live, else why rates and ages are n/a
    error: str
    cost_ms: float


# --- the lab's programs, as the operating system sees them -----------------------------


def running_programs(workspace: Path, script: str) -> list[Any]:
    """The running processes of this user that execute `workspace/script`, oldest first.

    Matched on the command line (an argument naming the script, resolved against the
    process's working directory), so `python worker.py` in the workspace and the scaler's
    `python /…/worker.py` both count; the same file name elsewhere does not.
    """
    import psutil

    target = (workspace / script).resolve()
    me = os.getuid()
    found: list[tuple[float, int, Any]] = []
    for pid in _pids_naming(target.name):
        with contextlib.suppress(psutil.Error, OSError):
            proc = psutil.Process(pid)
            cmdline = proc.cmdline()
            if len(cmdline) < 2 or proc.uids().real != me:
                continue
            names = [arg for arg in cmdline[1:] if Path(arg).name == target.name]
            cwd = Path(proc.cwd()) if names else None
            if cwd is not None and any((cwd / name).resolve() == target for name in names):
                found.append((proc.create_time(), pid, proc))
    return [proc for _, _, proc in sorted(found, key=lambda item: item[:2])]


def _pids_naming(name: str) -> list[int]:
    """Pids whose command line mentions `name`: on Linux one read of /proc/PID/cmdline each
    (a tenth of what psutil's process_iter costs), elsewhere every pid."""
    import psutil

    if not Path("/proc/self/cmdline").exists():
        return list(psutil.pids())
    needle = name.encode()
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in Path(entry.path, "cmdline").read_bytes():
                    pids.append(int(entry.name))
    return pids


# --- gauges ----------------------------------------------------------------------------


@dataclass
class _GaugeState:
    gauge: Gauge
    history: deque[float]
    last: tuple[float, int] | None = None  # (monotonic time, row count) for rates


def _count_rows(path: Path, table: str) -> int:
    # Read-only, URI mode: never creates the file, never takes a write lock.
    uri = f"file:{path}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=0.5)
    try:
        return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    finally:
        conn.close()


def _read_gauge(state: _GaugeState, workspace: Path) -> GaugeFigures:
    gauge = state.gauge
    value: float | None = None
    if gauge.kind == "processes":
        value = float(len(running_programs(workspace, gauge.script)))
        text = f"{value:.0f} running"
    else:
        path = workspace / gauge.path
        if not path.is_file():
            text = f"n/a: no {gauge.path} yet"
        else:
            try:
                rows = _count_rows(path, gauge.table)
            except sqlite3.Error as exc:
                text = f"n/a: {gauge.path}: {exc}"
                state.last = None
            else:
                now = time.monotonic()
                if not gauge.rate:
                    value, text = float(rows), f"{rows:,} rows"
                elif state.last is None or rows < state.last[1]:
                    text = f"{rows:,} rows (rate from the next sample)"
                else:
                    seconds = max(now - state.last[0], 1e-3)
                    value = (rows - state.last[1]) / seconds
                    text = f"{value:,.0f} rows/s ({rows:,} rows)"
                state.last = (now, rows)
    if value is not None:
        state.history.append(value)
    return GaugeFigures(gauge.label, value, text, tuple(state.history))


# --- the sampler -----------------------------------------------------------------------


@dataclass
class _Queue:
    url: str
    series: dict[str, deque[float]] = field(default_factory=dict)


class DashboardSampler:
    """Call `sample()` about once a second from a worker thread; it never raises for
    LocalStack being away (the frame says so and keeps the last figures)."""

    def __init__(self, lab: Lab, endpoint: Endpoint, *, workspace: Path | None = None,
                 account: str | None = None, history: int = HISTORY) -> None:
        from tutor.engine.labs.workspace import workspace_dir

        self.lab = lab
        self.endpoint = endpoint
        self.workspace = workspace or workspace_dir(lab)
        # The learner's own LocalStack account, so a shared (classroom) LocalStack's other
        # learners' lab04- queues never show in this trace.
        self.account = account if account is not None else getattr(endpoint, "account", None)
        self.history = history
        self._queues: dict[str, _Queue] = {}
        self._urls: list[str] = []
        self._ticks = 0
        self._last: tuple[QueueFigures, ...] = ()
        self._gauges = [_GaugeState(g, deque(maxlen=history))
                        for g in lab.spec.dashboard.gauges]
        self._events: deque[Any] = deque(maxlen=TRACE_EVENTS)
        self._since = 0  # the whole ring buffer first: ages of messages sent earlier

    def _sqs(self) -> Any:
        from tutor.cloud.clients import client

        # Short timeouts, one attempt: a dashboard tick must not hang on a gone LocalStack.
        return client("sqs", self.endpoint, read_timeout=3.0, max_attempts=1)

    def _trace(self) -> str:
        """Read new trace events of this lab; '' when live, else why there is no trace."""
        try:
            from tutor.engine.observe import trace
        except ImportError:
            return "n/a: the message trace is not part of this tutor"
        prefix = self.lab.prefix
        for _ in range(4):  # bounded catch-up: at most 4 x 5000 events per tick
            try:
                batch = trace.fetch(self.endpoint, self._since, account=self.account)
            except TutorError as exc:
                return f"n/a: {exc.message}"
            if not batch.available:
                return f"n/a: {batch.reason}"
            self._events.extend(e for e in batch.events if e.queue.startswith(prefix))
            self._since = batch.next_seq
            if len(batch.events) < 5000:
                break
        return ""

    def _depths(self, sqs: Any) -> list[tuple[str, dict[str, str]]]:
        self._ticks += 1
        if not self._urls or self._ticks % LIST_EVERY == 0:
            urls = sqs.list_queues(QueueNamePrefix=self.lab.prefix).get("QueueUrls", [])
            self._urls = sorted(urls)[:20]  # a lab has a handful; bounded anyway
        found = []
        for url in self._urls:
            try:
                attrs = sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=[*ATTRIBUTES, "QueueArn", "RedrivePolicy"]
                )["Attributes"]
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
                    self._ticks = -1  # deleted since the listing: list again next tick
                    continue
                raise
            found.append((url, attrs))
        return found

    def sample(self) -> DashboardFrame:
        started = time.perf_counter()
        now = time.time()
        error = ""
        queues = self._last
        try:
            queues = self._figures(self._depths(self._sqs()), now)
            self._last = queues
        except TutorError as exc:
            error = exc.message
        except Exception as exc:  # botocore: unreachable, throttled, refused
            error = from_boto(exc, self.endpoint.url).message
        trace = self._trace() if not error else "n/a: LocalStack is not answering"
        if not trace and not error:
            queues = tuple(self._with_trace(q, now) for q in queues)
            self._last = queues
        gauges = []
        for state in self._gauges:
            try:
                gauges.append(_read_gauge(state, self.workspace))
            except Exception as exc:  # a gauge is an extra: it says why, the rest goes on
                gauges.append(GaugeFigures(state.gauge.label, None, f"n/a: {exc}",
                                           tuple(state.history)))
        cost = (time.perf_counter() - started) * 1000
        return DashboardFrame(now, queues, tuple(gauges), trace, error, cost)

    def _figures(self, found: list[tuple[str, dict[str, str]]],
                 now: float) -> tuple[QueueFigures, ...]:
        dlq_arns = set()
        for _, attrs in found:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                dlq_arns.add(json.loads(attrs.get("RedrivePolicy") or "{}")
                             ["deadLetterTargetArn"])
        figures = []
        for url, attrs in found:
            name = url.rstrip("/").rsplit("/", 1)[-1]
            queue = self._queues.get(name)
            if queue is None or queue.url != url:
                queue = self._queues[name] = _Queue(
                    url, {s: deque(maxlen=self.history) for s in SERIES})
            counts = {v: int(attrs.get(k, 0)) for k, v in ATTRIBUTES.items()}
            for series, count in counts.items():
                queue.series[series].append(float(count))
            dlq = attrs.get("QueueArn") in dlq_arns or name.removesuffix(".fifo").endswith("-dlq")
            figures.append(QueueFigures(
                name, dlq, counts["visible"], counts["in_flight"], counts["delayed"],
                {s: tuple(d) for s, d in queue.series.items()}, None, None))
        for gone in set(self._queues) - {f.name for f in figures}:
            del self._queues[gone]
        return tuple(figures)

    def _with_trace(self, queue: QueueFigures, now: float) -> QueueFigures:
        from tutor.engine.observe import trace

        mine = [e for e in self._events if e.queue == queue.name]
        window = [e for e in mine if e.at > now - RATE_WINDOW_S]
        rates = trace.rates(window, RATE_WINDOW_S, now=now)
        age = trace.oldest_age(mine, now, queue=queue.name) if queue.visible + \
            queue.in_flight + queue.delayed else None
        return QueueFigures(queue.name, queue.dlq, queue.visible, queue.in_flight,
                            queue.delayed, queue.history,
                            {k: rates.get(k, 0.0) for k in ("sent", "received", "deleted")},
                            age)
