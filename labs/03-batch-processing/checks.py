"""Checks for lab 03: batch processing with long polling, batched writes and deletes."""

from __future__ import annotations

import json
import math
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
from tutor.engine.labs.scenario import Program

BACKLOG = 200  # jobs per worker run: 20 full batches
IDLE_SECONDS = 3.0  # how long each worker is watched on an empty queue
PARTIAL_VALID, PARTIAL_INVALID = 36, 4





def _rows(ctx: CheckContext, db_name: str, run: str) -> dict[str, int]:
    """job_id -> rows, for this run's jobs, read from the worker's SQLite file."""
    path = ctx.workspace / db_name
    if not path.exists():
        return {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        found = conn.execute("SELECT job_id, COUNT(*) FROM jobs WHERE job_id LIKE ? "
                             "GROUP BY job_id", (f"j-{run}-%",)).fetchall()
    except sqlite3.OperationalError:  # no table yet
        return {}
    finally:
        conn.close()
    return {str(job): int(count) for job, count in found}


def _bodies(run: str, count: int, invalid: int = 0) -> list[str]:
    bodies = [json.dumps({"job": f"j-{run}-{i}", "customer": f"c{i % 7}",
                          "amount_cents": 100 + i}) for i in range(count)]
    for i in range(invalid):  # spread through the batches
        bodies.insert(1 + i * (count // max(invalid, 1)),
                      json.dumps({"job": f"j-{run}-bad{i}", "customer": "c0",
                                  "amount_cents": "n/a"}))
    return bodies


def _measure(program: Program, drained_at: float) -> dict[str, Any]:
    """Calls while working the backlog, and empty receives per second once idle."""
    api = [e for e in program.events("api") if e.get("service") == "sqs"]
    busy = [e for e in api if e["t"] <= drained_at]
    idle = [e for e in api if e["t"] > drained_at]
    receives = [e for e in busy if e["op"] == "ReceiveMessage"]
    full = [e for e in receives if e.get("n", 0) > 0]
    idle_empty = sum(1 for e in idle if e["op"] == "ReceiveMessage" and e.get("n") == 0)
    return {
        "calls": len(busy),
        "by_operation": {op: sum(1 for e in busy if e["op"] == op)
                         for op in sorted({e["op"] for e in busy})},
        "messages_per_receive": round(sum(e.get("n", 0) for e in full) / max(len(full), 1), 2),
        "commits": program.commits(),
        "idle_empty_receives_per_s": round(idle_empty / IDLE_SECONDS, 2),
    }


def _run_worker(ctx: CheckContext, url: str, program: str, db_name: str, run: str,
                count: int) -> tuple[dict[str, Any], str]:
    worker = ctx.runner.start(program, env={"JOBS_DB": db_name})

    def drained() -> bool:
        return len(_rows(ctx, db_name, run)) >= count and ctx.message_counts(url) == (0, 0)

    done = ctx.runner.wait_until(drained, timeout=25, interval=0.2)
    drained_at = time.time()
    if not done:
        worker.stop()
        return {"done": False, "rows": len(_rows(ctx, db_name, run))}, worker.output()
    time.sleep(IDLE_SECONDS)
    worker.stop()
    result = _measure(worker, drained_at)
    result["done"] = True
    result["rows"] = _rows(ctx, db_name, run)
    return result, worker.output()


@scenario(timeout=85)
def compare(ctx: CheckContext) -> dict[str, Any]:
    """The same backlog through one_at_a_time.py, then through the learner's batch_worker.py."""
    url = ctx.require_queue_url("jobs")
    ctx.drain(url)
    results: dict[str, Any] = {}
    for role, program, db_name in (("baseline", "one_at_a_time.py", "baseline.db"),
                                   ("batch", "batch_worker.py", "jobs.db")):
        run = uuid.uuid4().hex[:6]
        (ctx.workspace / db_name).unlink(missing_ok=True)
        bodies = _bodies(run, BACKLOG)
        ctx.runner.burst(url, len(bodies), body=lambda i, b=bodies: b[i])  # type: ignore[misc]
        started = time.monotonic()
        result, output = _run_worker(ctx, url, program, db_name, run, BACKLOG)
        result["seconds"] = round(time.monotonic() - started, 1)
        result["output"] = output
        results[role] = result
        if not result["done"]:
            if role == "baseline":
                raise ScenarioFailed("one_at_a_time.py did not drain the backlog in 25 s",
                                     output, fix="restore it with `tutor lab reset 03`")
            break
        ctx.drain(url)
    return results


def _batch(ctx: CheckContext) -> dict[str, Any]:
    return ctx.scenario("compare")["batch"]


def _not_done(result: dict[str, Any], want: str) -> Outcome:
    return failed(want, f"batch_worker.py wrote only {result['rows']} of {BACKLOG} jobs in 25 s",
                  output=result.get("output", ""))


# --- step 1: long polling on the queue ----------------------------------------------------


@check
def queue_long_polling(ctx: CheckContext) -> Outcome:
    wait = ctx.clock.seconds("long_poll_wait")
    want = (f"`{ctx.name('jobs')}` to long-poll by default (ReceiveMessageWaitTimeSeconds "
            f"between 1 and {wait:g} s; {ctx.clock.explain('long_poll_wait')})")
    attrs = ctx.queue_attributes("jobs")
    if attrs is None:
        return failed(want, "no such queue")
    value = int(attrs.get("ReceiveMessageWaitTimeSeconds", 0))
    found = f"{value} s" + (" (short polling)" if value == 0 else "")
    return expect(1 <= value <= wait, want, found, receive_wait=value)


@check
def queue_has_dlq(ctx: CheckContext) -> Outcome:
    want = f"`{ctx.name('jobs')}` to dead-letter to `{ctx.name('jobs-dlq')}`"
    attrs = ctx.queue_attributes("jobs")
    if attrs is None or not attrs.get("RedrivePolicy"):
        return failed(want, "no redrive policy")
    policy = json.loads(attrs["RedrivePolicy"])
    return expect(policy.get("deadLetterTargetArn") == ctx.queue_arn("jobs-dlq"), want,
                  f"target {policy.get('deadLetterTargetArn')}", redrive_policy=policy)


# --- step 2: batches everywhere ------------------------------------------------------------


@check
def every_job_one_row(ctx: CheckContext) -> Outcome:
    result = _batch(ctx)
    want = f"each of the {BACKLOG} jobs written as exactly one row"
    if not result["done"]:
        return _not_done(result, want)
    rows: dict[str, int] = result["rows"]
    extra = {k: v for k, v in rows.items() if v != 1}
    return expect(len(rows) == BACKLOG and not extra, want,
                  f"{len(rows)} jobs written" + (f", {len(extra)} more than once" if extra
                                                  else ""))


@check
def receives_batched(ctx: CheckContext) -> Outcome:
    result = _batch(ctx)
    want = "about 10 messages per ReceiveMessage call while a backlog waits"
    if not result["done"]:
        return _not_done(result, want)
    per = result["messages_per_receive"]
    return partial(min(1.0, per / 8), want, f"{per} per call on average",
                   by_operation=result["by_operation"])


@check
def deletes_batched(ctx: CheckContext) -> Outcome:
    result = _batch(ctx)
    want = (f"the {BACKLOG} messages deleted with DeleteMessageBatch, in about "
            f"{BACKLOG // 10} calls")
    if not result["done"]:
        return _not_done(result, want)
    ops = result["by_operation"]
    singles, batches = ops.get("DeleteMessage", 0), ops.get("DeleteMessageBatch", 0)
    ok = singles == 0 and 0 < batches <= math.ceil(BACKLOG / 10 * 1.5)
    return expect(ok, want, f"{batches} DeleteMessageBatch and {singles} DeleteMessage calls",
                  by_operation=ops)


@check
def writes_batched(ctx: CheckContext) -> Outcome:
    result = _batch(ctx)
    want = f"the {BACKLOG} rows written in batches (at most {BACKLOG // 5} transactions)"
    if not result["done"]:
        return _not_done(result, want)
    commits = result["commits"]
    return expect(0 < commits <= BACKLOG // 5, want, f"{commits} committed transactions",
                  commits=commits)


@check
def fewer_calls(ctx: CheckContext) -> Outcome:
    runs = ctx.scenario("compare")
    base, mine = runs["baseline"], runs["batch"]
    want = "at most a quarter of the SQS calls one_at_a_time.py makes on the same backlog"
    if not mine["done"]:
        return _not_done(mine, want)
    ratio = base["calls"] / max(mine["calls"], 1)
    return expect(mine["calls"] * 4 <= base["calls"], want,
                  f"one_at_a_time.py {base['calls']} calls in {base['seconds']} s, yours "
                  f"{mine['calls']} in {mine['seconds']} s ({ratio:.1f}x fewer)",
                  baseline=base["by_operation"], yours=mine["by_operation"])


# --- step 3: empty receives, short versus long polling ---------------------------------------


@check
def idle_long_polls(ctx: CheckContext) -> Outcome:
    runs = ctx.scenario("compare")
    base, mine = runs["baseline"], runs["batch"]
    want = "at most 1 empty receive per second while the queue is empty (long polling)"
    if not mine["done"]:
        return _not_done(mine, want)
    rate = mine["idle_empty_receives_per_s"]
    return expect(rate <= 1.0, want,
                  f"{rate} per second (one_at_a_time.py, short polling: "
                  f"{base['idle_empty_receives_per_s']} per second)",
                  yours=rate, baseline=base["idle_empty_receives_per_s"])


# --- step 4: partial failures ---------------------------------------------------------------


@scenario(timeout=45)
def partial_batch(ctx: CheckContext) -> dict[str, Any]:
    """Batches that mix valid and invalid jobs: the valid ones must still go through."""
    url, dlq = ctx.require_queue_url("jobs"), ctx.require_queue_url("jobs-dlq")
    ctx.drain(url)
    ctx.drain(dlq)
    run = uuid.uuid4().hex[:6]
    (ctx.workspace / "jobs.db").unlink(missing_ok=True)
    bodies = _bodies(run, PARTIAL_VALID, PARTIAL_INVALID)
    ctx.runner.burst(url, len(bodies), body=lambda i: bodies[i], threads=1)
    worker = ctx.runner.start("batch_worker.py", env={"JOBS_DB": "jobs.db"})
    ctx.runner.wait_until(lambda: len(_rows(ctx, "jobs.db", run)) >= PARTIAL_VALID,
                          timeout=15, interval=0.2)
    time.sleep(0.5)
    output = worker.output()
    worker.stop()
    time.sleep(ctx.clock.seconds("long_poll_wait") + 0.5)  # outlive its pending long poll
    rows = _rows(ctx, "jobs.db", run)
    source, dead = ctx.message_counts(url), ctx.message_counts(dlq)
    valid = sum(1 for k in rows if "bad" not in k)
    # Whatever is still queued, minus the valid jobs not written yet, are invalid ones kept.
    kept = max(0, sum(source) + sum(dead) - (PARTIAL_VALID - valid))
    return {"valid_rows": valid, "invalid_rows": sum(1 for k in rows if "bad" in k),
            "invalid_kept": min(kept, PARTIAL_INVALID), "source": source, "dlq": dead,
            "output": output}


@check
def valid_jobs_survive(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("partial_batch")
    want = (f"the {PARTIAL_VALID} valid jobs written although {PARTIAL_INVALID} invalid ones "
            "were mixed into their batches")
    ok = result["valid_rows"] == PARTIAL_VALID and result["invalid_rows"] == 0
    found = f"{result['valid_rows']} valid rows" + (
        f" and {result['invalid_rows']} invalid ones" if result["invalid_rows"] else "")
    return expect(ok, want, found, output="" if ok else result["output"])


@check
def invalid_jobs_kept(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("partial_batch")
    want = (f"the {PARTIAL_INVALID} invalid jobs not deleted (still queued, or in "
            f"`{ctx.name('jobs-dlq')}`)")
    kept = result["invalid_kept"]
    return partial(min(kept, PARTIAL_INVALID) / PARTIAL_INVALID, want,
                   f"{kept} kept (queue {result['source']}, DLQ {result['dlq']})"
                   + ("" if kept >= PARTIAL_INVALID else ": the others were deleted unprocessed"),
                   source=result["source"], dlq=result["dlq"])
