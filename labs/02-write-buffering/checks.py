"""Checks for lab 02: a queue absorbs a login burst; the writer protects the database."""

from __future__ import annotations

import bisect
import json
import sqlite3
import time
import uuid
from typing import Any

from tutor.engine.labs.checks import (
    CheckContext,
    Outcome,
    ScenarioFailed,
    check,
    expect,
    failed,
    partial,
    scenario,
)

# The burst: what the embedded LocalStack absorbs on 2 cores in about 1.5 s (it takes
# about 1,250 msg/s from 8 threads of SendMessageBatch). At 300 rows/s it drains in ~6 s.
BURST = 1500
DB_FILE = "logins.db"


def _limits(ctx: CheckContext) -> tuple[int, int]:
    """(rows per second, connections) the database allows: the lab's db.py says."""
    return int(ctx.params.get("max_rows_per_second", 300)), \
        int(ctx.params.get("max_connections", 2))




def _rows(ctx: CheckContext, run: str) -> list[tuple[str, float]]:
    """(event_id, written_at) of this run's rows."""
    path = ctx.workspace / DB_FILE
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return [(str(e), float(t)) for e, t in conn.execute(
            "SELECT event_id, written_at FROM logins WHERE event_id LIKE ?", (f"e-{run}-%",))]
    except sqlite3.OperationalError:  # no table yet
        return []
    finally:
        conn.close()


def _peak_window(times: list[float], width: float = 1.0) -> int:
    """The most rows written within any `width`-second window."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + width) - i for i, t in enumerate(times)),
               default=0)


@scenario(timeout=60)
def login_burst(ctx: CheckContext) -> dict[str, Any]:
    """Start writer.py, send the 9:00 login burst, watch the backlog drain into SQLite."""
    url = ctx.queue_url("logins")
    if url is None:
        raise ScenarioFailed(f"the queue `{ctx.name('logins')}` does not exist",
                             fix="run `python infra.py` in your workspace")
    ctx.drain(url)
    for suffix in ("", "-wal", "-shm"):
        (ctx.workspace / f"{DB_FILE}{suffix}").unlink(missing_ok=True)
    writer = ctx.runner.start("writer.py")
    time.sleep(1.0)  # let it start polling before the burst
    run = uuid.uuid4().hex[:6]
    now = time.time()
    sent = ctx.runner.burst(url, BURST, body=lambda i: json.dumps(
        {"event_id": f"e-{run}-{i}", "user": f"u{i % 977}", "ip": f"10.0.{i % 250}.{i % 200}",
         "at": now}))
    if sent.sent < BURST:
        raise ScenarioFailed(f"LocalStack accepted only {sent.sent} of {BURST} messages "
                             f"({sent.errors[:1]})", fix="is LocalStack healthy? `tutor doctor`")
    peak = 0
    drained = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # bounded: 30 s for 1,500 rows at >= 50 rows/s
        visible, in_flight = ctx.message_counts(url)
        peak = max(peak, visible + in_flight)
        if visible == in_flight == 0 and len(_rows(ctx, run)) >= BURST:
            drained = True
            break
        if not writer.alive:
            break
        time.sleep(0.25)
    time.sleep(0.5)
    writer.stop()
    time.sleep(1.2)  # outlive a pending long poll of the stopped writer
    rows = _rows(ctx, run)
    per_event: dict[str, int] = {}
    for event_id, _ in rows:
        per_event[event_id] = per_event.get(event_id, 0) + 1
    times = [t for _, t in rows]
    return {
        "burst": {"sent": sent.sent, "seconds": round(sent.seconds, 2),
                  "rate": round(sent.rate)},
        "rows": len(rows), "distinct": len(per_event),
        "duplicates": sum(1 for v in per_event.values() if v > 1),
        "peak_rows_per_s": _peak_window(times),
        "write_seconds": round(max(times) - min(times), 2) if times else 0.0,
        "max_connections": writer.max_open_connections(),
        "connections_opened": len(writer.events("db_open")),
        "commits": writer.commits(),
        "peak_backlog": peak, "drained": drained, "left": ctx.message_counts(url),
        "writer_exit": writer.returncode, "output": writer.output(20),
    }


# --- step 1: the buffer queue ---------------------------------------------------------------


@check
def queue_visibility(ctx: CheckContext) -> Outcome:
    low = ctx.clock.seconds("visibility_timeout")
    want = (f"`{ctx.name('logins')}` to hide a received message for at least {low:g} s "
            f"({ctx.clock.explain('visibility_timeout')})")
    attrs = ctx.queue_attributes("logins")
    if attrs is None:
        return failed(want, "no such queue")
    value = int(attrs["VisibilityTimeout"])
    return expect(value >= low, want, f"{value} s", visibility_timeout=value)


@check
def queue_long_polling(ctx: CheckContext) -> Outcome:
    want = f"`{ctx.name('logins')}` to long-poll by default (ReceiveMessageWaitTimeSeconds >= 1)"
    attrs = ctx.queue_attributes("logins")
    if attrs is None:
        return failed(want, "no such queue")
    value = int(attrs.get("ReceiveMessageWaitTimeSeconds", 0))
    return expect(value >= 1, want, f"{value} s", receive_wait=value)


# --- step 2: every login lands exactly once, the queue drains -------------------------------


@check
def every_login_one_row(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("login_burst")
    want = f"each of the {BURST} login events written as exactly one row"
    found = f"{run['distinct']} events written"
    if run["duplicates"]:
        found += f", {run['duplicates']} of them more than once"
    ok = run["distinct"] == BURST and not run["duplicates"]
    if not ok and run["writer_exit"] not in (None, -15, -9):
        found += f" (writer.py exited with code {run['writer_exit']})"
    return expect(ok, want, found, rows=run["rows"], burst=run["burst"],
                  output="" if ok else run["output"])


@check
def queue_drained(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("login_burst")
    want = f"`{ctx.name('logins')}` empty once the writer caught up (within 30 s)"
    visible, in_flight = run["left"]
    ok = run["drained"] and visible == in_flight == 0
    return expect(ok, want, f"{visible} waiting and {in_flight} in flight; the backlog "
                  f"peaked at {run['peak_backlog']} messages", peak_backlog=run["peak_backlog"],
                  burst=run["burst"])


# --- step 3: protect the database ------------------------------------------------------------


@check
def write_rate_bounded(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("login_burst")
    limit, _ = _limits(ctx)
    want = f"never more than {limit} rows written in any 1-second window"
    peak = run["peak_rows_per_s"]
    if not run["rows"]:
        return failed(want, "no rows at all", output=run["output"])
    return expect(peak <= limit, want,
                  f"a peak of {peak} rows in one second ({run['rows']} rows in "
                  f"{run['write_seconds']} s)", peak=peak, limit=limit)


@check
def connections_bounded(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("login_burst")
    _, limit = _limits(ctx)
    want = f"at most {limit} database connections open at the same time"
    most = run["max_connections"]
    if not run["connections_opened"]:
        return failed(want, "no connection at all (did writer.py use db.connect()?)")
    return expect(most <= limit, want,
                  f"{most} at once ({run['connections_opened']} opened in all)",
                  max_open=most, opened=run["connections_opened"])


@check
def batch_inserts(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("login_burst")
    want = f"batch inserts: the {BURST} rows in at most {BURST // 10} transactions"
    commits = run["commits"]
    if not commits:
        return failed(want, "no committed transaction")
    rows_per = run["rows"] / commits
    return partial(min(1.0, rows_per / 10), want,
                   f"{commits} transactions ({rows_per:.1f} rows each)", commits=commits)
