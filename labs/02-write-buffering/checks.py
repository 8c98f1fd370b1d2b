"""Checks for lab 02: a queue absorbs a login burst; the writer protects the database."""

from __future__ import annotations

import bisect
import json
import sqlite3
import time
import uuid
from collections import defaultdict
from typing import Any

from tutor.engine.labs import faults
from tutor.engine.labs.checks import (
    CheckContext,
    Outcome,
    ScenarioFailed,
    check,
    expect,
    failed,
    partial,
    passed,
    scenario,
)

# The burst: what the embedded LocalStack absorbs on 2 cores in about 1.5 s (it takes
# about 1,250 msg/s from 8 threads of SendMessageBatch). At 300 rows/s it drains in ~6 s.
BURST = 1500
DB_FILE = "logins.db"
# The most the tutor waits: 1,500 rows at about 17 rows/s (a correct writer on a very busy
# machine), plus one visibility timeout for the batches of a crashed writer to come back.
# It stops as soon as the outcome is certain: drained, lost, no new row for longer than a
# visibility timeout (stuck), or every row written but messages never deleted.
DRAIN_SECONDS = 90
RESTARTS = 6  # the supervisor starts writer.py again this often (4 faults crash it at most)
DELETES = ("DeleteMessage", "DeleteMessageBatch")

# The faults the pattern exists to survive, early in the drain so that the crashed batches
# come back while the rest drains. Counts run across every incarnation of writer.py.
FAULTS = (
    faults.kill("DeleteMessageBatch", when="after", nth=[2], id="kill-after-delete-batch"),
    faults.kill("DeleteMessage", when="after", nth=[3], id="kill-after-delete"),
    faults.kill("commit", when="before", nth=[2], id="kill-before-commit"),
    faults.fail_commit(3, id="fail-commit"),
    faults.kill("commit", when="after", nth=[4], id="kill-after-commit"),
)
SAID = {  # what the tutor did, in a failure message
    "kill-after-delete-batch": "crashed writer.py (SIGKILL) right after its 2nd "
                               "DeleteMessageBatch",
    "kill-after-delete": "crashed writer.py (SIGKILL) right after its 3rd DeleteMessage",
    "kill-before-commit": "crashed writer.py (SIGKILL) right before its 2nd SQLite commit",
    "fail-commit": "made its 3rd SQLite commit fail (rolled back)",
    "kill-after-commit": "crashed writer.py (SIGKILL) right after its 4th SQLite commit, "
                         "before its deletes",
}


def _limits(ctx: CheckContext) -> tuple[int, int]:
    """(rows per second, connections) the database allows: the lab's db.py says."""
    return int(ctx.params.get("max_rows_per_second", 300)), \
        int(ctx.params.get("max_connections", 2))


def _rows(ctx: CheckContext, run: str) -> list[tuple[str, float]] | None:
    """(event_id, written_at) of this run's rows; [] without a table, None when unreadable
    right now (the writer holds a lock)."""
    path = ctx.workspace / DB_FILE
    if not path.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        return [(str(e), float(t)) for e, t in conn.execute(
            "SELECT event_id, written_at FROM logins WHERE event_id LIKE ?", (f"e-{run}-%",))]
    except sqlite3.OperationalError as exc:
        return [] if "no such table" in str(exc) else None
    finally:
        conn.close()


def _peak_window(times: list[float], width: float = 1.0) -> int:
    """The most rows written within any `width`-second window."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + width) - i for i, t in enumerate(times)),
               default=0)


def _last_delete(events: list[dict[str, Any]]) -> float:
    return max((float(e["t"]) for e in events
                if e.get("kind") == "api" and e.get("op") in DELETES and not e.get("error")),
               default=0.0)


def _deleted(events: list[dict[str, Any]]) -> int:
    """Messages the writer deleted (successful entries of its delete calls)."""
    total = 0
    for e in events:
        if e.get("kind") != "api" or e.get("error"):
            continue
        if e.get("op") == "DeleteMessage":
            total += 1
        elif e.get("op") == "DeleteMessageBatch":
            total += int(e.get("n", 0))
    return total


def _received(events: list[dict[str, Any]]) -> int:
    return sum(int(e.get("n", 0)) for e in events
               if e.get("kind") == "api" and e.get("op") == "ReceiveMessage")


def _is_delete(e: dict[str, Any]) -> bool:
    return e.get("kind") == "api" and e.get("op") in DELETES and not e.get("error") and \
        (e.get("op") == "DeleteMessage" or int(e.get("n", 0)) > 0)


def _is_receive(e: dict[str, Any], nonempty: bool = True) -> bool:
    return e.get("kind") == "api" and e.get("op") == "ReceiveMessage" and \
        (not nonempty or int(e.get("n", 0)) > 0)


def _blame(events: list[dict[str, Any]]) -> list[str]:
    """What the writer did around each injected fault that loses data, in its terms."""
    by_pid: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_pid[int(e.get("pid", 0))].append(e)
    found: list[str] = []
    for seq in by_pid.values():
        for index, fault in enumerate(seq):
            if fault.get("kind") != "fault":
                continue
            fid = str(fault.get("id", ""))
            before, after = seq[:index], seq[index + 1:]
            if fid == "kill-before-commit":
                # deletes since the first receive after its last commit: not yet committed
                last = max((i for i, e in enumerate(before) if e.get("kind") == "db_commit"),
                           default=-1)
                window = before[last + 1:]
                first = next((i for i, e in enumerate(window) if _is_receive(e)), None)
                if first is not None and any(_is_delete(e) for e in window[first:]):
                    found.append(f"the tutor {SAID[fid]}, and your writer had already "
                                 "deleted that batch's messages: it deletes messages before "
                                 "their rows are committed, so a crash in between loses them")
            elif fid in ("kill-after-delete-batch", "kill-after-delete"):
                last = max((i for i, e in enumerate(before) if _is_receive(e)), default=-1)
                if last >= 0 and not any(e.get("kind") == "db_commit"
                                         for e in before[last:]):
                    found.append(f"the tutor {SAID[fid]}, and nothing had been committed "
                                 "since that batch was received: your writer deletes messages "
                                 "before their rows are committed, so a crash in between "
                                 "loses them")
            elif fid == "fail-commit":
                window = []
                for e in after:
                    if e.get("kind") == "db_commit" or _is_receive(e, nonempty=False):
                        break
                    window.append(e)
                if any(_is_delete(e) for e in window):
                    found.append(f"the tutor {SAID[fid]}, and your writer deleted that batch's "
                                 "messages anyway: it deletes messages whose write failed, so "
                                 "they are lost")
    return list(dict.fromkeys(found))


def _connections(events: list[dict[str, Any]]) -> tuple[int, int]:
    """(most SQLite connections open at once, connections opened in all).

    A connection is open from its `db_open` to its `db_close`, or to the last event of
    its process when it never closed (the tutor killed it): a crashed incarnation's
    connection does not count against the next one.
    """
    last: dict[int, float] = {}
    for e in events:
        pid = int(e.get("pid", 0))
        last[pid] = max(last.get(pid, 0.0), float(e.get("t", 0)))
    opened: dict[tuple[int, Any], float] = {}
    spans: list[tuple[float, float]] = []
    count = 0
    for e in events:
        key = (int(e.get("pid", 0)), e.get("id"))
        if e.get("kind") == "db_open":
            opened[key] = float(e["t"])
            count += 1
        elif e.get("kind") == "db_close" and key in opened:
            spans.append((opened.pop(key), float(e["t"])))
    spans += [(start, last[pid]) for (pid, _), start in opened.items()]
    points = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans],
                    key=lambda p: (p[0], p[1]))
    now = best = 0
    for _, step in points:
        now += step
        best = max(best, now)
    return best, count


@scenario(timeout=60)
def login_burst(ctx: CheckContext) -> dict[str, Any]:
    """Start writer.py, send the 9:00 login burst, crash the writer and fail a write while
    the backlog drains into SQLite, and see what arrived."""
    url = ctx.queue_url("logins")
    if url is None:
        raise ScenarioFailed(f"the queue `{ctx.name('logins')}` does not exist",
                             fix="run `python infra.py` in your workspace")
    attrs = ctx.queue_attributes("logins") or {}
    visibility = int(attrs.get("VisibilityTimeout", 30))
    ctx.clear(url)  # in-flight messages of an earlier run too: they would come back
    for suffix in ("", "-wal", "-shm", "-journal"):
        (ctx.workspace / f"{DB_FILE}{suffix}").unlink(missing_ok=True)
    because = (f"{DRAIN_SECONDS} s for {BURST:,} rows, plus your visibility timeout of "
               f"{visibility} s for the batches of a crashed writer to come back, plus 10 s "
               "to start the writer and send the burst")
    # Asked before the burst, so that the scenario's own limit already covers a slow burst.
    wait = ctx.budget(DRAIN_SECONDS + visibility + 10, because)
    deadline = time.monotonic() + wait
    ctx.runner.inject(*FAULTS)
    writer = ctx.runner.start("writer.py", restarts=RESTARTS)
    run = uuid.uuid4().hex[:6]
    now = time.time()
    began = now
    sent = ctx.runner.burst(url, BURST, body=lambda i: json.dumps(
        {"event_id": f"e-{run}-{i}", "user": f"u{i % 977}", "ip": f"10.0.{i % 250}.{i % 200}",
         "at": now}))
    if sent.sent < BURST:
        raise ScenarioFailed(f"LocalStack accepted only {sent.sent} of {BURST} messages "
                             f"({sent.errors[:1]})", fix="is LocalStack healthy? `tutor doctor`")
    peak, drained, stopped = 0, False, "time"
    seen, steady = -1, time.monotonic()
    while time.monotonic() < deadline:
        visible, in_flight = ctx.message_counts(url)
        peak = max(peak, visible + in_flight)
        rows = _rows(ctx, run)
        distinct = len({e for e, _ in rows}) if rows is not None else None
        if distinct is not None and distinct != seen:
            seen, steady = distinct, time.monotonic()
        if visible == in_flight == 0:
            if distinct is not None and distinct >= BURST:
                drained, stopped = True, "drained"
                break
            if time.monotonic() - steady > 3.0:  # empty and no new rows: they are lost
                stopped = "lost"
                break
        if writer.finished:
            stopped = "dead"
            break
        if distinct is not None and distinct >= BURST and visible + in_flight:
            # Every login is written, yet messages stay: certain when the writer deleted
            # nothing at all, received the burst twice over (it deletes only some), or
            # deleted nothing for longer than a visibility timeout (they came back and
            # stayed).
            api = writer.events("api")
            quiet = time.time() - max(_last_delete(api), began)
            if not _deleted(api) or _received(api) > 2 * BURST or quiet > visibility + 3:
                stopped = "undeleted"
                break
        elif visible + in_flight and time.monotonic() - steady > visibility + 10:
            # No new row for longer than a crashed batch stays hidden (plus a restart),
            # with messages waiting: the writer is stuck, waiting longer changes nothing.
            stopped = "stuck"
            break
        time.sleep(0.25)
    writer.stop()
    time.sleep(1.2)  # outlive a pending long poll of the stopped writer
    rows = _rows(ctx, run) or []
    per_event: dict[str, int] = {}
    for event_id, _ in rows:
        per_event[event_id] = per_event.get(event_id, 0) + 1
    times = [t for _, t in rows]
    events = writer.events()
    most, opened = _connections(events)
    fired = [str(f.get("id", "")) for f in ctx.runner.fired()]
    return {
        "burst": {"sent": sent.sent, "seconds": round(sent.seconds, 2),
                  "rate": round(sent.rate)},
        "rows": len(rows), "distinct": len(per_event),
        "duplicates": sum(1 for v in per_event.values() if v > 1),
        "extra_rows": sum(v - 1 for v in per_event.values() if v > 1),
        "peak_rows_per_s": _peak_window(times),
        "peak_rows_per_50ms": _peak_window(times, 0.05),
        "write_seconds": round(max(times) - min(times), 2) if times else 0.0,
        "max_connections": most, "connections_opened": opened,
        "commits": sum(1 for e in events if e.get("kind") == "db_commit"),
        "received": _received(events), "deleted": _deleted(events),
        "fired": fired, "blame": _blame(events),
        "restarts": writer.restarts, "exits": writer.crashes(),
        "visibility": visibility, "budget": f"{wait:.0f} s, from {because}",
        "stopped": stopped, "peak_backlog": peak, "drained": drained,
        "left": ctx.message_counts(url),
        "writer_exit": writer.returncode, "output": writer.output(20),
    }


def _did(run: dict[str, Any]) -> str:
    """`the tutor crashed writer.py ... and made ...` for the faults that fired."""
    said = [SAID[f] for f in dict.fromkeys(run["fired"]) if f in SAID]
    return "the tutor " + "; ".join(said) if said else "no fault fired"


def _why_stopped(run: dict[str, Any]) -> str:
    if run["stopped"] == "stuck":
        return (f": no new row for more than your visibility timeout of "
                f"{run['visibility']} s")
    if run["stopped"] == "time":
        return f" after {run['budget']}"
    return ""


def _dead(run: dict[str, Any]) -> str:
    if run["stopped"] != "dead":
        return ""
    own = [c for c in run["exits"] if c != -9]
    return (f"; writer.py kept crashing and stayed down after {run['restarts']} restarts "
            f"({len(own)} crashes of its own, last exit code {run['writer_exit']})")


# --- step 1: the buffer queue ---------------------------------------------------------------


# --- step 2: every login lands exactly once, the queue drains -------------------------------


def _unique_failure(run: dict[str, Any]) -> str:
    """Why a UNIQUE key with a plain INSERT fails (whichever check sees it: a redelivered
    batch may hold logins not yet written, which then never are, or only written ones,
    which then stay in the queue, failing each time they come back)."""
    if "UNIQUE constraint failed" not in run["output"]:
        return ""
    return (": a login delivered again makes your insert fail (UNIQUE constraint failed), "
            "so its whole batch is never written or deleted and comes back, failing again; "
            "skip a row that is already there instead of failing")


@check
def every_login_one_row(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("login_burst")
    want = (f"each of the {BURST:,} login events written as exactly one row, through the "
            "tutor's crashes and a failed write")
    missing = BURST - run["distinct"]
    parts: list[str] = []
    if missing > 0:
        line = f"{missing} of the {BURST:,} logins never became a row"
        if run["blame"]:
            line += ": " + "; ".join(run["blame"])
        elif sum(run["left"]):
            line += (f" ({sum(run['left'])} messages were still in the queue when the tutor "
                     f"stopped waiting{_why_stopped(run)}; {_did(run)})")
            line += _unique_failure(run)
        elif run["rows"]:
            line += (f", yet their messages were deleted ({_did(run)}): your writer deletes "
                     "messages it did not write")
        parts.append(line)
    if run["duplicates"]:
        line = (f"{run['duplicates']} logins written more than once ({run['extra_rows']} extra "
                "rows)")
        if "kill-after-commit" in run["fired"] or "kill-after-delete-batch" in run["fired"]:
            line += (f": {_did(run)}; SQS delivered the batches it had not deleted again "
                     "after the visibility timeout, and your writer wrote them again. It is "
                     "not idempotent: a login delivered twice must not add a second row")
        else:
            line += ": your writer is not idempotent (SQS delivers at least once)"
        parts.append(line)
    if not run["rows"]:
        parts.append("no rows at all")
    found = "; ".join(parts) + _dead(run) if parts else \
        f"{BURST:,} logins, one row each ({_did(run)})"
    ok = not parts
    return expect(ok, want, found, rows=run["rows"], distinct=run["distinct"],
                  duplicates=run["duplicates"], fired=run["fired"],
                  restarts=run["restarts"], burst=run["burst"],
                  output="" if ok else run["output"])


@check
def queue_drained(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("login_burst")
    want = f"`{ctx.name('logins')}` empty once the writer caught up"
    visible, in_flight = run["left"]
    ok = run["drained"] and visible == in_flight == 0
    found = (f"{visible} waiting and {in_flight} in flight; the backlog peaked at "
             f"{run['peak_backlog']} messages")
    if not ok and _unique_failure(run):  # the batch fails each time it comes back
        found += _unique_failure(run)
    elif run["stopped"] == "undeleted" or (not ok and run["deleted"] < run["distinct"]):
        found += (f"; your writer received {run['received']} messages and deleted only "
                  f"{run['deleted']}: every message it wrote must be deleted, or SQS "
                  "delivers it again")
    elif not ok:
        found += _dead(run) or f"; the tutor stopped waiting{_why_stopped(run)}"
    return expect(ok, want, found, peak_backlog=run["peak_backlog"], burst=run["burst"],
                  received=run["received"], deleted=run["deleted"],
                  output="" if ok else run["output"])


# --- step 3: protect the database ------------------------------------------------------------


@check
def write_rate_bounded(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("login_burst")
    limit, _ = _limits(ctx)
    want = f"never more than {limit} rows written in any 1-second window"
    peak = run["peak_rows_per_s"]
    if not run["rows"]:
        return failed(want, "no rows at all", output=run["output"])
    found = (f"a peak of {peak} rows in one second ({run['rows']} rows in "
             f"{run['write_seconds']} s)")
    if peak > limit:
        found += ": your writer writes faster than the database allows; pace it by the rows " \
                 "it writes, across every thread"
        if run["peak_rows_per_50ms"] > limit:
            found += (f" ({run['peak_rows_per_50ms']} rows within 50 ms: one batch bigger "
                      "than a whole second's budget)")
    return expect(peak <= limit, want, found, peak=peak, limit=limit)


@check
def connections_bounded(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("login_burst")
    _, limit = _limits(ctx)
    want = f"at most {limit} database connections open at the same time, kept open"
    most, opened = run["max_connections"], run["connections_opened"]
    if not opened:
        return failed(want, "no connection at all (did writer.py use db.connect()?)")
    runs = 1 + run["restarts"]
    found = f"{most} at once ({opened} opened in all by {runs} runs of writer.py)"
    evidence = {"max_open": most, "opened": opened, "runs": runs}
    if most > limit:
        return failed(want, found + f": your writer holds more than {limit} connections",
                      **evidence)
    if opened > runs * (limit + 1):
        return partial(0.5, want, found + ": your writer opens a connection per message or "
                       "per batch instead of keeping one open", **evidence)
    return passed(want, found, **evidence)


@check
def batch_inserts(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("login_burst")
    least = float(ctx.params.get("min_rows_per_transaction", 5))
    want = f"batch inserts: {least:g} or more rows per transaction on average"
    commits = run["commits"]
    if not commits:
        return failed(want, "no committed transaction (autocommit writes every row on its "
                      "own)" if run["rows"] else "no committed transaction")
    rows_per = run["distinct"] / commits
    found = f"{commits} transactions for {run['distinct']} rows ({rows_per:.1f} rows each)"
    if rows_per < least:
        found += ": your writer commits " + ("row by row" if rows_per < 1.5 else
                                             "batches that are too small")
    return partial((rows_per - 1) / (least - 1) if rows_per < least else 1.0, want, found,
                   commits=commits, rows_per_transaction=round(rows_per, 2))
