"""Checks for lab 03: batch processing with long polling, batched writes and deletes."""

from __future__ import annotations

import json
import math
import sqlite3
import time
import uuid
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
from tutor.engine.labs.scenario import Program

BACKLOG = 100  # jobs per worker run: 10 full batches
IDLE_SECONDS = 3.0  # how long the learner's worker is watched on an empty queue
BASELINE_IDLE = 1.0  # one_at_a_time.py short-polls a dozen times a second: 1 s shows it
PARTIAL_VALID, PARTIAL_INVALID = 36, 4
RESTARTS = 5  # a supervisor restarts a crashed worker, as ECS or systemd would
LONGEST_POLL = 20.0  # SQS's longest receive wait
DELETES = ("DeleteMessageBatch", "DeleteMessage")

# What a batch worker must survive, injected into the learner's run of step 2 (never into
# one_at_a_time.py): a crash right after a batch delete (a worker that deletes before it
# commits loses that batch), a crash between commit and delete (the batch is delivered
# again: the write must be safe to repeat), a failed database write (that batch must not
# be deleted), and a DeleteMessageBatch that reports two entries in `Failed`.
# All early in the run, so that no batch delivered again meets a second fault.
BATCH_FAULTS = (
    faults.kill("DeleteMessageBatch", when="after", nth=[1], id="kill-after-delete"),
    faults.fail_commit(2, id="failed-write"),
    faults.kill("DeleteMessageBatch", when="before", nth=[3], id="kill-before-delete"),
    faults.fail_batch_entries("DeleteMessageBatch", entries=[0, 4], nth=[5],
                              id="failed-entries"),
)


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


def _queue_wait(ctx: CheckContext) -> float:
    return float((ctx.queue_attributes("jobs") or {}).get("ReceiveMessageWaitTimeSeconds", 0))


def _visibility(ctx: CheckContext) -> float:
    return float((ctx.queue_attributes("jobs") or {}).get("VisibilityTimeout", 30))


def _sqs_calls(program: Program) -> list[dict[str, Any]]:
    return [e for e in program.events("api") if e.get("service") == "sqs"]


def _idle(program: Program) -> bool:
    """Not holding messages: its latest call was a receive that returned none (or it is not
    running). The hook records each call when it ends."""
    if not program.alive:
        return True
    calls = _sqs_calls(program)
    return bool(calls) and calls[-1].get("op") == "ReceiveMessage" and not calls[-1].get("n")


def _stop(ctx: CheckContext, program: Program, queue_wait: float) -> None:
    """Stop a worker, then outlive its pending long poll.

    A ReceiveMessage that was waiting when its worker died still completes on the server
    and would hand the next run's messages to the dead worker (invisible for a whole
    visibility timeout). The pending poll began when the last recorded call ended and lasts
    the call's WaitTimeSeconds, or the queue's default when the call gives none.
    """
    program.stop()
    calls = _sqs_calls(program)
    if not calls:
        return
    receives = [e for e in calls if e.get("op") == "ReceiveMessage"]
    wait = float(receives[-1].get("wait", queue_wait)) if receives else queue_wait
    left = float(calls[-1]["t"]) + min(wait, LONGEST_POLL) + 0.3 - time.time()
    if left > 3:  # a long poll of the learner's own: the scenario may take that long more
        left = ctx.budget(left, f"the {wait:g} s long poll of your stopped worker")
    time.sleep(max(0.0, left))


def _crashes(program: Program) -> list[int]:
    """Exit codes of incarnations that ended by themselves (not by the tutor's SIGKILL)."""
    return [code for code in program.exits if code != -9]


def _error_line(output: str) -> str:
    """The last line of a program's output that reports an error, if any."""
    lines = output.splitlines()
    for words in (("Error", "error", "UNIQUE", "constraint"), ("failed",)):
        found = [ln.strip() for ln in lines if any(w in ln for w in words)]
        if found:
            return found[-1][:160]
    return ""


def _deliveries(program: Program) -> dict[str, Any]:
    """What the worker's calls say about its deletes, from the measured events.

    `unretried`: entries DeleteMessageBatch reported in `Failed` that no delete right after
    it names again (by receipt handle). `expected`: messages that had to come back
    (the batch of the crash before a delete, the batch whose write failed). `extra`: any
    other message received more than once.
    """
    events = [e for e in program.events() if e.get("kind") == "fault" or (
        e.get("kind") == "api" and e.get("service") == "sqs")]
    by_pid: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        by_pid.setdefault(int(event.get("pid", 0)), []).append(event)
    received = unretried = failed_entries = expected = 0
    for seq in by_pid.values():
        last_batch = 0
        for i, event in enumerate(seq):
            if event.get("kind") == "fault":
                if event.get("id") in ("kill-before-delete", "failed-write"):
                    expected += last_batch
                continue
            if event.get("op") == "ReceiveMessage" and event.get("n"):
                received += int(event["n"])
                last_batch = int(event["n"])
            if event.get("op") == "DeleteMessageBatch" and event.get("failed"):
                failed_entries += int(event["failed"])
                # Retried: named again, by receipt handle, by a later delete of the same
                # process (a retry of the wrong entries, e.g. the Successful list, is not).
                again = {h for e in seq[i + 1:] if e.get("op") in DELETES
                         for h in e.get("handles", [])}
                unretried += sum(1 for h in event.get("failed_handles", []) if h not in again)
    return {"received": received, "failed_entries": failed_entries, "unretried": unretried,
            "expected_again": expected, "extra": max(0, received - BACKLOG - expected)}


def _measure(program: Program, drained_at: float, idle_seconds: float) -> dict[str, Any]:
    """Calls while working the backlog, and empty receives per second once idle."""
    api = _sqs_calls(program)
    busy = [e for e in api if e["t"] <= drained_at]
    idle = [e for e in api if e["t"] > drained_at and e["op"] == "ReceiveMessage"]
    receives = [e for e in busy if e["op"] == "ReceiveMessage"]
    full = [e for e in receives if e.get("n", 0) > 0]
    empty = [e for e in idle if not e.get("n")]
    # The rate between the first and the last empty receive of the idle window: a 1 s long
    # poll makes just under one a second, however the window's edges fall.
    if len(empty) >= 2:
        span = max(empty[-1]["t"] - empty[0]["t"], 1e-3)
        rate = (len(empty) - 1) / span
    else:
        rate = len(empty) / idle_seconds
    return {
        "calls": len(busy),
        "by_operation": {op: sum(1 for e in busy if e["op"] == op)
                         for op in sorted({e["op"] for e in busy})},
        "messages_per_receive": round(sum(e.get("n", 0) for e in full) / max(len(full), 1), 2),
        "commits": program.commits(),
        "idle_empty_receives": len(empty),
        "idle_empty_receives_per_s": round(rate, 2),
        "idle_waits": sorted({str(e.get("wait", "queue default")) for e in empty}),
    }


def _run_worker(ctx: CheckContext, url: str, program: str, db_name: str, run: str,
                *, restarts: int = 0, budget: float = 25.0, idle: float = IDLE_SECONDS
                ) -> tuple[dict[str, Any], str]:
    worker = ctx.runner.start(program, env={"JOBS_DB": db_name}, restarts=restarts)

    def drained() -> bool:
        # Nothing left in the queue (visible or in flight) and the worker holds nothing:
        # every job is written or lost, and nothing more will happen.
        if worker.finished:
            return True
        return ctx.message_counts(url) == (0, 0) and _idle(worker)

    done = ctx.runner.wait_until(drained, timeout=budget, interval=0.2)
    drained_at = time.time()
    if done and worker.alive:
        time.sleep(idle)
    output = worker.output()
    _stop(ctx, worker, _queue_wait(ctx))
    result = _measure(worker, drained_at, idle)
    result.update(_deliveries(worker))
    result["done"] = done
    result["rows"] = _rows(ctx, db_name, run)
    result["crashes"] = _crashes(worker)
    result["fired"] = [{k: f.get(k) for k in ("id", "fault", "op", "entries")}
                       for f in worker.faults()]
    result["source"] = ctx.message_counts(url)
    return result, output


@scenario(timeout=90)
def compare(ctx: CheckContext) -> dict[str, Any]:
    """The same backlog through one_at_a_time.py, then through the learner's batch_worker.py
    (with the faults a batch worker must survive)."""
    url, dlq = ctx.require_queue_url("jobs"), ctx.require_queue_url("jobs-dlq")
    ctx.clear(url)
    ctx.clear(dlq)
    visibility, wait = _visibility(ctx), _queue_wait(ctx)
    results: dict[str, Any] = {"visibility": visibility}
    for role, program, db_name in (("baseline", "one_at_a_time.py", "baseline.db"),
                                   ("batch", "batch_worker.py", "jobs.db")):
        run = uuid.uuid4().hex[:6]
        (ctx.workspace / db_name).unlink(missing_ok=True)
        bodies = _bodies(run, BACKLOG)
        ctx.runner.burst(url, len(bodies), body=lambda i, b=bodies: b[i])  # type: ignore[misc]
        started = time.monotonic()
        if role == "batch":
            # The batches the faults send back return after a visibility timeout; a worker
            # that fails on a redelivered batch meets it once more before the DLQ takes it.
            budget = ctx.budget(20 + 3 * (visibility + wait + 2),
                                f"visibility timeout {visibility:g} s x 3 deliveries")
            ctx.runner.inject(*BATCH_FAULTS)
            result, output = _run_worker(ctx, url, program, db_name, run,
                                         restarts=RESTARTS, budget=budget)
            result["dlq"] = ctx.message_counts(dlq)
            result["budget_note"] = ctx.budget_note()
        else:
            # About 5 s on an idle machine (200 calls); more when the machine is busy.
            budget = ctx.budget(40, f"{BACKLOG} jobs one at a time")
            result, output = _run_worker(ctx, url, program, db_name, run, budget=budget,
                                         idle=BASELINE_IDLE)
            result["dlq"] = (0, 0)
        result["seconds"] = round(time.monotonic() - started, 1)
        result["output"] = output
        results[role] = result
        if role == "baseline" and not result["done"]:
            raise ScenarioFailed(f"one_at_a_time.py did not drain the backlog in "
                                 f"{result['seconds']:g} s",
                                 output, fix="restore it with `tutor lab reset 03`")
        ctx.clear(url)
    ctx.clear(dlq)
    return results


def _batch(ctx: CheckContext) -> dict[str, Any]:
    return ctx.scenario("compare")["batch"]


def _not_done(result: dict[str, Any], want: str) -> Outcome | None:
    """A failure when the worker did not work the backlog at all (nothing to measure)."""
    if result["rows"] or result["done"]:
        return None
    crashed = (f"; it crashed {len(result['crashes'])} times ({_error_line(result['output'])})"
               if result["crashes"] else "")
    return failed(want, f"batch_worker.py wrote none of the {BACKLOG} jobs{crashed}",
                  output=result.get("output", ""))


# --- step 1: long polling on the queue ----------------------------------------------------


# --- step 2: batches everywhere ------------------------------------------------------------


def _did(result: dict[str, Any]) -> str:
    """What the tutor did to the worker, in words."""
    ids = {f["id"] for f in result["fired"]}
    parts = []
    if "kill-after-delete" in ids:
        parts.append("crashed it right after its 1st DeleteMessageBatch")
    if "kill-before-delete" in ids:
        parts.append("crashed it between a commit and its DeleteMessageBatch")
    if "failed-write" in ids:
        parts.append("made its 2nd commit fail")
    return ", ".join(parts) or "injected no fault (your worker made too few batch calls)"


@check
def every_job_one_row(ctx: CheckContext) -> Outcome:
    result = _batch(ctx)
    want = (f"each of the {BACKLOG} jobs written as exactly one row, although the tutor "
            "crashed the worker twice and made one write fail")
    early = _not_done(result, want)
    if early:
        return early
    rows: dict[str, int] = result["rows"]
    missing = BACKLOG - len(rows)
    queued = sum(result["source"]) + sum(result["dlq"])
    if missing and queued >= missing:
        return failed(want, f"{missing} jobs not written after {result['seconds']} s, still "
                      f"queued{result.get('budget_note', '')}", fired=result["fired"],
                      output=result["output"])
    if missing:
        ids = {f["id"] for f in result["fired"]}
        why = ""
        if ids & {"kill-after-delete", "failed-write"}:
            why = (": your worker deletes a batch before (or without) committing its rows, "
                   "so the crash right after a delete, or the failed write, lost them")
        return failed(want, f"{missing - queued} jobs never written, and no longer queued; "
                      f"the tutor {_did(result)}{why}", fired=result["fired"],
                      output=result["output"])
    extra = {k: v for k, v in rows.items() if v != 1}
    return expect(not extra, want, f"{len(rows)} jobs written" + (
        f", {len(extra)} more than once" if extra else "") + f" (the tutor {_did(result)})")


@check
def receives_batched(ctx: CheckContext) -> Outcome:
    result = _batch(ctx)
    want = "about 10 messages per ReceiveMessage call while a backlog waits"
    early = _not_done(result, want)
    if early:
        return early
    per = result["messages_per_receive"]
    found = f"{per} per call on average" + (
        " (MaxNumberOfMessages is 1 unless you ask for more, 10 at most)" if per < 8 else "")
    return partial(min(1.0, per / 8), want, found, by_operation=result["by_operation"])


@check
def deletes_batched(ctx: CheckContext) -> Outcome:
    result = _batch(ctx)
    want = (f"the {BACKLOG} messages deleted with DeleteMessageBatch, in about "
            f"{BACKLOG // 10} calls")
    early = _not_done(result, want)
    if early:
        return early
    ops = result["by_operation"]
    singles, batches = ops.get("DeleteMessage", 0), ops.get("DeleteMessageBatch", 0)
    # Retrying the entries a batch reported in `Failed` one by one is fine.
    ok = singles <= result["failed_entries"] and 0 < batches <= math.ceil(BACKLOG / 10 * 1.5)
    return expect(ok, want, f"{batches} DeleteMessageBatch and {singles} DeleteMessage calls",
                  by_operation=ops)


@check
def writes_batched(ctx: CheckContext) -> Outcome:
    result = _batch(ctx)
    want = f"the {BACKLOG} rows written in batches (at most {BACKLOG // 5} transactions)"
    early = _not_done(result, want)
    if early:
        return early
    commits = result["commits"]
    found = f"{commits} committed transactions"
    if commits == 0:
        found += " (none seen: are the rows written in autocommit mode, one per statement?)"
    return expect(0 < commits <= BACKLOG // 5, want, found, commits=commits)


@check
def fewer_calls(ctx: CheckContext) -> Outcome:
    runs = ctx.scenario("compare")
    base, mine = runs["baseline"], runs["batch"]
    want = "at most a quarter of the SQS calls one_at_a_time.py makes on the same backlog"
    early = _not_done(mine, want)
    if early:
        return early
    ratio = base["calls"] / max(mine["calls"], 1)
    return expect(mine["calls"] * 4 <= base["calls"], want,
                  f"one_at_a_time.py {base['calls']} calls in {base['seconds']} s, yours "
                  f"{mine['calls']} in {mine['seconds']} s ({ratio:.1f}x fewer)",
                  baseline=base["by_operation"], yours=mine["by_operation"])


@check
def failed_deletes_retried(ctx: CheckContext) -> Outcome:
    result = _batch(ctx)
    want = ("the entries DeleteMessageBatch reports in `Failed` deleted again at once (the "
            "tutor makes 2 entries of one call fail)")
    early = _not_done(result, want)
    if early:
        return early
    fired = [f for f in result["fired"] if f["id"] == "failed-entries"]
    evidence = {"fired": result["fired"], "failed_entries": result["failed_entries"],
                "unretried": result["unretried"], "extra": result["extra"]}
    if not fired:
        return failed(want, "no DeleteMessageBatch call to make fail: your worker made fewer "
                      "than 6 of them", **evidence)
    if result["unretried"]:
        came = ("so they came back after the {:g} s visibility timeout and were processed a "
                "second time" if result["extra"] else "so they come back after the {:g} s "
                "visibility timeout and are processed a second time").format(
                    ctx.scenario("compare")["visibility"])
        return failed(want, f"the tutor made {result['failed_entries']} entries of one "
                      "DeleteMessageBatch come back in `Failed` (HTTP 200, no exception); "
                      "your worker went on without deleting them again (a retry names the "
                      f"entries of Failed, by their receipt handles), {came}: "
                      "read the response's Failed list and retry "
                      "those entries", **evidence)
    return passed(want, f"the {result['failed_entries']} failed entries deleted again",
                  **evidence)


@check
def redelivery_harmless(ctx: CheckContext) -> Outcome:
    result = _batch(ctx)
    want = ("a batch delivered a second time (the tutor crashes the worker between its "
            "commit and its DeleteMessageBatch) written once more harmlessly and deleted, "
            "no valid job dead-lettered")
    early = _not_done(result, want)
    if early:
        return early
    fired = {f["id"] for f in result["fired"]}
    dead = result["dlq"][0] + result["dlq"][1]
    stuck = result["source"][0] + result["source"][1]
    evidence = {"dlq": result["dlq"], "source": result["source"], "fired": result["fired"],
                "crashes": result["crashes"]}
    if "kill-before-delete" not in fired:
        return failed(want, "no DeleteMessageBatch to crash before: your worker made fewer "
                      "than 3 of them", **evidence)
    if dead or stuck:
        said = _error_line(result["output"])
        return failed(want, f"{dead} valid jobs in `{ctx.name('jobs-dlq')}` and {stuck} still "
                      "queued: the batch came back after the crash and your worker failed on "
                      "it again" + (f" ({said})" if said else "") + ", until SQS "
                      "dead-lettered it; a write that is safe to repeat (INSERT OR IGNORE "
                      "on the job id) takes a redelivery in its stride", **evidence,
                      output=result["output"])
    return passed(want, "the redelivered batch written once and deleted, the DLQ empty",
                  **evidence)


# --- step 3: empty receives, short versus long polling ---------------------------------------


@check
def idle_long_polls(ctx: CheckContext) -> Outcome:
    runs = ctx.scenario("compare")
    base, mine = runs["baseline"], runs["batch"]
    want = ("long polling while the queue is empty: each receive waits at least 1 s, so at "
            "most 1 empty receive per second")
    early = _not_done(mine, want)
    if early:
        return early
    rate = mine["idle_empty_receives_per_s"]
    short = [w for w in mine["idle_waits"] if w in ("0", "0.0")]
    found = (f"{rate} per second (one_at_a_time.py, short polling: "
             f"{base['idle_empty_receives_per_s']} per second)")
    if short:
        found += (": your ReceiveMessage passes WaitTimeSeconds=0, which switches off the "
                  "queue's long polling (the call's value wins)")
    elif rate > 1.05:
        found += ": your receives return at once on an empty queue"
    return expect(not short and rate <= 1.05, want, found, yours=rate,
                  baseline=base["idle_empty_receives_per_s"], waits=mine["idle_waits"])


# --- step 4: partial failures ---------------------------------------------------------------


@scenario(timeout=45)
def partial_batch(ctx: CheckContext) -> dict[str, Any]:
    """Batches that mix valid and invalid jobs: the valid ones must still go through."""
    url, dlq = ctx.require_queue_url("jobs"), ctx.require_queue_url("jobs-dlq")
    ctx.clear(url)
    ctx.clear(dlq)
    run = uuid.uuid4().hex[:6]
    (ctx.workspace / "jobs.db").unlink(missing_ok=True)
    bodies = _bodies(run, PARTIAL_VALID, PARTIAL_INVALID)
    ctx.runner.burst(url, len(bodies), body=lambda i: bodies[i], threads=1)
    budget = ctx.budget(15 + _visibility(ctx), f"visibility timeout {_visibility(ctx):g} s")
    worker = ctx.runner.start("batch_worker.py", env={"JOBS_DB": "jobs.db"}, restarts=3)

    def settled() -> bool:
        # Every job received (none visible) and the worker holds none: the valid ones of
        # these batches are written now, or waiting for a redelivery they should not need.
        if worker.finished:
            return True
        return ctx.message_counts(url)[0] == 0 and _idle(worker)

    ctx.runner.wait_until(settled, timeout=budget, interval=0.2)
    output = worker.output()
    _stop(ctx, worker, _queue_wait(ctx))
    rows = _rows(ctx, "jobs.db", run)
    source, dead = ctx.message_counts(url), ctx.message_counts(dlq)
    valid = sum(1 for k in rows if "bad" not in k)
    # Whatever is still queued, minus the valid jobs not written yet, are invalid ones kept.
    kept = max(0, sum(source) + sum(dead) - (PARTIAL_VALID - valid))
    ctx.clear(url)  # the invalid jobs in flight would come back in the next run
    return {"valid_rows": valid, "invalid_rows": sum(1 for k in rows if "bad" in k),
            "invalid_kept": min(kept, PARTIAL_INVALID), "source": source, "dlq": dead,
            "crashes": _crashes(worker), "output": output}


@check
def valid_jobs_survive(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("partial_batch")
    want = (f"the {PARTIAL_VALID} valid jobs written at once although {PARTIAL_INVALID} "
            "invalid ones were mixed into their batches")
    ok = result["valid_rows"] == PARTIAL_VALID and result["invalid_rows"] == 0
    found = f"{result['valid_rows']} valid rows" + (
        f" and {result['invalid_rows']} invalid ones (a job db.parse() rejects must not be "
        "written)" if result["invalid_rows"] else "")
    missing = PARTIAL_VALID - result["valid_rows"]
    if missing and result["crashes"]:
        found += (f": your worker crashed {len(result['crashes'])} times "
                  f"({_error_line(result['output']) or 'exit ' + str(result['crashes'][0])}) "
                  "on an invalid job, and the valid jobs of its batch went back to the queue")
    elif missing:
        found += (f": {missing} valid jobs were left in the queue with their invalid "
                  "neighbour, to come back after the visibility timeout (and, after 2 "
                  "receives, to be dead-lettered with it): write and delete the valid ones "
                  "of a batch, leave only the invalid ones")
    return expect(ok, want, found, output="" if ok else result["output"])


@check
def invalid_jobs_kept(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("partial_batch")
    want = (f"the {PARTIAL_INVALID} invalid jobs not deleted (still queued, or in "
            f"`{ctx.name('jobs-dlq')}`)")
    kept = result["invalid_kept"]
    return partial(min(kept, PARTIAL_INVALID) / PARTIAL_INVALID, want,
                   f"{kept} kept (queue {result['source']}, DLQ {result['dlq']})"
                   + ("" if kept >= PARTIAL_INVALID else ": the others were deleted "
                      "unprocessed, so nobody will ever see them"),
                   source=result["source"], dlq=result["dlq"])
