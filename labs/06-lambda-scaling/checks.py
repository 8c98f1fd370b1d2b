"""Checks for lab 06: Lambda scaling with SQS (batching, partial batch responses, concurrency)."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
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

FUNCTION, QUEUE, DLQ = "ingest", "events", "events-dlq"
MAX_CONNECTIONS = 3  # sink.MAX_CONNECTIONS: what the downstream warehouse accepts


# --- readers --------------------------------------------------------------------------


def _function(ctx: CheckContext) -> dict[str, Any] | None:
    lam = ctx.client("lambda")
    try:
        return dict(lam.get_function_configuration(FunctionName=ctx.name(FUNCTION)))
    except lam.exceptions.ResourceNotFoundException:
        return None


def _mapping(ctx: CheckContext) -> dict[str, Any] | None:
    lam = ctx.client("lambda")
    try:
        found = lam.list_event_source_mappings(FunctionName=ctx.name(FUNCTION))
    except lam.exceptions.ResourceNotFoundException:
        return None
    # A mapping being deleted (a previous attempt, or a reset) can linger for a moment;
    # the learner's live mapping is the one that counts.
    mine = [dict(m) for m in found.get("EventSourceMappings", [])
            if m.get("EventSourceArn") == ctx.queue_arn(QUEUE) and m.get("State") != "Deleting"]
    mine.sort(key=lambda m: m.get("State") not in ("Enabled", "Enabling", "Updating"))
    return mine[0] if mine else None


def _no_mapping(ctx: CheckContext) -> Outcome:
    return failed(f"an event source mapping from `{ctx.name(QUEUE)}` to "
                  f"`{ctx.name(FUNCTION)}` (run `python deploy.py`)", "none")


def _depth(ctx: CheckContext) -> dict[str, int]:
    attrs = ctx.queue_attributes(QUEUE) or {}
    return {"visible": int(attrs.get("ApproximateNumberOfMessages", -1)),
            "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", -1))}


def read_log(ctx: CheckContext, since: float) -> dict[str, Any]:
    """The function's measured lines since `since`: batches, stored ids, other lines."""
    logs = ctx.client("logs")
    kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{ctx.name(FUNCTION)}",
                              "startTime": int(since * 1000)}
    batches: list[dict[str, Any]] = []
    stored: Counter[str] = Counter()
    other: list[str] = []
    try:
        for _ in range(20):  # bounded paging
            page = logs.filter_log_events(**kwargs)
            for event in page.get("events", []):
                text = event["message"].rstrip()
                if text.startswith('{"lab06"'):
                    line = json.loads(text)
                    if line["lab06"] == "batch":
                        batches.append(line)
                    elif line["lab06"] == "stored":
                        stored.update(line["ids"])
                elif not text.startswith(("START ", "END ", "REPORT ")):
                    other.append(text)
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        pass
    return {"batches": batches, "stored": stored, "other": other}


def peak_concurrency(batches: list[dict[str, Any]]) -> int:
    """The most invocations whose [start, end] overlap (a sweep over the log lines)."""
    edges = sorted([(b["start"], 1) for b in batches] + [(b["end"], -1) for b in batches],
                   key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def _histogram(batches: list[dict[str, Any]]) -> dict[str, int]:
    sizes = Counter(int(b["size"]) for b in batches)
    return {str(size): sizes[size] for size in sorted(sizes)}


def _require(ctx: CheckContext) -> str:
    url = ctx.queue_url(QUEUE)
    if url is None or _function(ctx) is None or _mapping(ctx) is None:
        raise ScenarioFailed(f"`{ctx.name(QUEUE)}`, `{ctx.name(FUNCTION)}` or the mapping "
                             "between them does not exist", fix="run `python deploy.py`")
    sqs = ctx.client("sqs")
    try:  # leftovers of earlier runs would blur the measure
        sqs.purge_queue(QueueUrl=url)
    except sqs.exceptions.PurgeQueueInProgress:
        pass
    return url


def _settle(ctx: CheckContext, since: float, ids: set[str], timeout: float
            ) -> dict[str, Any]:
    """Until every id is stored and the queue shows nothing visible, or nothing happened
    for 4 s after the last invocation (bounded); returns the last log reading."""
    state: dict[str, Any] = {}

    def settled() -> bool:
        state.update(read_log(ctx, since))
        depth = _depth(ctx)
        if depth["visible"] > 0:
            return False
        if ids <= set(state["stored"]):
            return True
        ends = [b["end"] for b in state["batches"]]
        return bool(ends) and time.time() - max(ends) > 4

    ctx.runner.wait_until(settled, timeout=timeout, interval=1.0)
    return state


# --- step 1: deployed, with a visibility timeout that fits the function ----------------


@check
def function_deployed(ctx: CheckContext) -> Outcome:
    conf = _function(ctx)
    if conf is None:
        return failed(f"a function `{ctx.name(FUNCTION)}` (run `python deploy.py`)", "none")
    limit = ctx.clock.seconds("function_timeout")
    ok = conf.get("State") == "Active" and 0 < int(conf.get("Timeout", 0)) <= limit
    return expect(ok, f"`{ctx.name(FUNCTION)}` Active with Timeout <= {limit:g} s",
                  f"state {conf.get('State')}, timeout {conf.get('Timeout')} s",
                  runtime=conf.get("Runtime"), role=conf.get("Role"))


@check
def mapping_enabled(ctx: CheckContext) -> Outcome:
    mapping = _mapping(ctx)
    if mapping is None:
        return _no_mapping(ctx)
    return expect(mapping.get("State") in ("Enabled", "Enabling", "Updating"),
                  "the mapping Enabled", f"state {mapping.get('State')}",
                  mapping={k: mapping.get(k) for k in ("UUID", "State", "BatchSize")})


@check
def visibility_six_times(ctx: CheckContext) -> Outcome:
    conf, attrs = _function(ctx), ctx.queue_attributes(QUEUE)
    if conf is None or attrs is None:
        return failed(f"`{ctx.name(FUNCTION)}` and `{ctx.name(QUEUE)}`", "one is missing")
    timeout = int(conf.get("Timeout", 3))
    visibility = int(attrs.get("VisibilityTimeout", 30))
    production = ctx.clock.production("function_timeout")
    expected = (f"VisibilityTimeout >= 6 x the function Timeout = {6 * timeout} s "
                f"(in production: 6 x {production:g} s = {6 * production:g} s)")
    if visibility >= 6 * timeout:
        return partial(1.0, expected, f"{visibility} s", visibility=visibility,
                       timeout=timeout)
    return partial(0.5 if visibility >= timeout else 0.0, expected,
                   f"{visibility} s" + (" (above the timeout, so AWS accepts the mapping, "
                                        "but a throttled or retried batch can reappear "
                                        "while it still runs)" if visibility >= timeout
                                        else ": AWS would refuse this mapping"),
                   visibility=visibility, timeout=timeout)


@check
def dead_letter_queue(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes(QUEUE)
    if attrs is None:
        return failed(f"the queue `{ctx.name(QUEUE)}`", "none")
    raw = attrs.get("RedrivePolicy")
    if not raw:
        return failed(f"a redrive policy to `{ctx.name(DLQ)}` (the DLQ of an "
                      "SQS-triggered function is the queue's, not the function's)", "none")
    policy = json.loads(raw)
    ok = policy.get("deadLetterTargetArn") == ctx.queue_arn(DLQ) and \
        int(policy.get("maxReceiveCount", 99)) <= 5 and ctx.queue_url(DLQ) is not None
    return expect(ok, f"a redrive policy to an existing `{ctx.name(DLQ)}` with "
                  "maxReceiveCount <= 5", json.dumps(policy), redrive_policy=policy)


# --- step 2: batching and concurrency, measured ----------------------------------------


@scenario(timeout=70)
def trickle(ctx: CheckContext) -> dict[str, Any]:
    """200 events at 50/s (a steady trickle, not one lump) through the function."""
    url = _require(ctx)
    count, rate = int(ctx.params.get("count", 200)), 50.0
    since = time.time()
    run = uuid.uuid4().hex[:6]
    ids = {f"{run}-{i}" for i in range(count)}
    sent = ctx.runner.burst(url, count, rate=rate,
                            body=lambda i: json.dumps({"event_id": f"{run}-{i}", "amount": i}))
    state = _settle(ctx, since, ids, timeout=45)
    batches = state["batches"]
    mapping = _mapping(ctx) or {}
    return {"sent": sent.sent, "rate": round(sent.rate, 1),
            "stored": len(ids & set(state["stored"])),
            "invocations": len(batches), "histogram": _histogram(batches),
            "peak": peak_concurrency(batches),
            "seconds": round(max((b["end"] for b in batches), default=since) - since, 1),
            "batch_size": mapping.get("BatchSize"),
            "window": mapping.get("MaximumBatchingWindowInSeconds", 0),
            "max_concurrency": (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency"),
            "errors": [b["error"] for b in batches if b.get("error")][:3]}


@check
def batching_config(ctx: CheckContext) -> Outcome:
    mapping = _mapping(ctx)
    if mapping is None:
        return _no_mapping(ctx)
    size = int(mapping.get("BatchSize", 10))
    window = int(mapping.get("MaximumBatchingWindowInSeconds", 0) or 0)
    size_ok, window_ok = size >= 25, 1 <= window <= 5
    return partial(0.5 * size_ok + 0.5 * window_ok,
                   "BatchSize >= 25 and MaximumBatchingWindowInSeconds between 1 and 5",
                   f"BatchSize {size}, window {window} s", batch_size=size, window=window)


@check
def few_invocations(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("trickle")
    limit = int(ctx.params.get("max_invocations", 10))
    found = (f"{result['invocations']} invocations for {result['stored']} of "
             f"{result['sent']} events, batch sizes {result['histogram']} (size: count)")
    if result["stored"] < result["sent"]:
        return failed(f"all {result['sent']} events stored", found
                      + (f"; the function raised {result['errors'][0]}"
                         if result["errors"] else ""), **result)
    return expect(result["invocations"] <= limit,
                  f"at most {limit} invocations for {result['sent']} events arriving at "
                  f"50/s (each invocation pays the 0.3 s warehouse connection)", found,
                  **result)


@check
def concurrency_config(ctx: CheckContext) -> Outcome:
    mapping = _mapping(ctx)
    if mapping is None:
        return _no_mapping(ctx)
    cap = (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency")
    reserved = ctx.client("lambda").get_function_concurrency(
        FunctionName=ctx.name(FUNCTION)).get("ReservedConcurrentExecutions")
    expected = (f"ScalingConfig.MaximumConcurrency between 2 and {MAX_CONNECTIONS} (the "
                f"warehouse takes {MAX_CONNECTIONS} connections), and no reserved "
                "concurrency below it")
    if cap is None:
        return failed(expected, "no MaximumConcurrency: up to 1,250 invocations on AWS",
                      reserved=reserved)
    cap_ok = 2 <= int(cap) <= MAX_CONNECTIONS
    reserved_ok = reserved is None or int(reserved) >= int(cap)
    found = f"MaximumConcurrency {cap}, reserved concurrency {reserved}"
    if not reserved_ok:
        found += " (below the cap: Lambda throttles, and throttled messages count as receives)"
    return partial(0.7 * cap_ok + 0.3 * reserved_ok, expected, found, cap=cap,
                   reserved=reserved)


@check
def peak_within_cap(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("trickle")
    cap = result["max_concurrency"]
    found = (f"peak {result['peak']} concurrent invocations, MaximumConcurrency {cap} "
             "(here extra pollers join only while batches come back full; AWS starts with "
             "5 pollers)")
    if cap is None:
        return failed("the peak concurrency measured under the configured "
                      "MaximumConcurrency", found, **result)
    if not result["invocations"]:
        return failed("invocations to measure", "none", **result)
    return expect(result["peak"] <= int(cap), "the peak concurrency measured <= "
                  "MaximumConcurrency", found, **result)


# --- step 3: partial batch responses ---------------------------------------------------


@scenario(timeout=60)
def poison(ctx: CheckContext) -> dict[str, Any]:
    """100 good events and 3 bad ones in one burst."""
    url = _require(ctx)
    since = time.time()
    run = uuid.uuid4().hex[:6]
    bad_at = {10, 45, 80}

    def body(i: int) -> str:
        if i in bad_at:
            return json.dumps({"event_id": f"{run}-bad{i}", "amount": -1})
        return json.dumps({"event_id": f"{run}-{i}", "amount": i})

    good = {f"{run}-{i}" for i in range(103) if i not in bad_at}
    ctx.runner.burst(url, 103, body=body)
    state = _settle(ctx, since, good, timeout=40)
    # Lambda deletes a batch's messages just after the invocation logged: give the last
    # deletion a moment before counting what is left.
    ctx.runner.wait_until(lambda: sum(_depth(ctx).values()) <= len(bad_at), timeout=3,
                          interval=0.5)
    depth = _depth(ctx)
    batches = state["batches"]
    counts = state["stored"]
    result = {"good": len(good), "bad": len(bad_at), "depth": depth,
              "stored_once": sum(1 for i in good if counts.get(i) == 1),
              "stored_twice": sum(1 for i in good if counts.get(i, 0) > 1),
              "missing": sum(1 for i in good if i not in counts),
              "bad_stored": sum(1 for k in counts if "-bad" in k),
              "reported": sum(int(b.get("failed") or 0) for b in batches),
              "raised": [b["error"] for b in batches if b.get("error")][:3],
              "invocations": len(batches), "histogram": _histogram(batches),
              "log": state["other"][-8:]}
    sqs = ctx.client("sqs")
    try:  # the bad ones would cycle for minutes on their way to the DLQ
        sqs.purge_queue(QueueUrl=url)
    except sqs.exceptions.PurgeQueueInProgress:
        pass
    return result


@check
def reports_failures_config(ctx: CheckContext) -> Outcome:
    mapping = _mapping(ctx)
    if mapping is None:
        return _no_mapping(ctx)
    types = mapping.get("FunctionResponseTypes", [])
    return expect("ReportBatchItemFailures" in types,
                  "FunctionResponseTypes [ReportBatchItemFailures] on the mapping (without "
                  "it Lambda ignores batchItemFailures)", f"{types or 'none'}",
                  mapping_response_types=types)


@check
def only_bad_retried(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("poison")
    waiting = result["depth"]["visible"] + result["depth"]["in_flight"]
    bad = result["bad"]
    if waiting == bad:
        return partial(1.0, f"exactly the {bad} bad messages left for a retry",
                       f"{waiting} waiting for the visibility timeout", **result)
    if waiting > bad:
        found = (f"{waiting} messages in flight: {waiting - bad} good ones will run again "
                 "after the visibility timeout (duplicates)")
    else:
        found = (f"{waiting} in flight: the bad messages were deleted as if processed "
                 "(they will never reach the DLQ)")
    if result["raised"]:
        found += f"; the function raised {result['raised'][0]}"
    return failed(f"exactly the {bad} bad messages left for a retry", found, **result)


@check
def good_stored_once(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("poison")
    good = result["good"]
    return partial(result["stored_once"] / good,
                   f"each of the {good} good events stored exactly once, the 3 bad ones "
                   "never", f"{result['stored_once']} once, {result['stored_twice']} twice, "
                   f"{result['missing']} not yet (waiting in a failed batch), "
                   f"{result['bad_stored']} bad ones stored", **result)
