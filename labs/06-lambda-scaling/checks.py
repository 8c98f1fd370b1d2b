"""Checks for lab 06: Lambda scaling with SQS (batching, partial batch responses, concurrency)."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from typing import Any

from tutor.engine.labs.builtins import redrive_outcome
from tutor.engine.labs.deliveries import Deliveries
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

FUNCTION, QUEUE, DLQ = "ingest", "events", "events-dlq"
MAX_CONNECTIONS = 3  # sink.MAX_CONNECTIONS: what the downstream warehouse accepts
RECEIVES = (2, 5)  # maxReceiveCount: a retry for a glitch, then the DLQ for a poison message
MIN_BATCH, WINDOW = 25, (1, 5)  # BatchSize >= 25, MaximumBatchingWindowInSeconds 1..5
TEN_BATCHES = 20  # invocations 200 events cost in batches of 10: the starter's


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
    timeouts = ends = 0
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
                elif text.startswith("REPORT ") and "Status: timeout" in text:
                    timeouts += 1
                elif text.startswith("END RequestId"):
                    ends += 1
                elif not text.startswith(("START ", "END ", "REPORT ")):
                    other.append(text)
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        pass
    return {"batches": batches, "stored": stored, "other": other, "timeouts": timeouts,
            "ends": ends}


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


def _all_returned(deliveries: Deliveries, log: dict[str, Any],
                  function_timeout: float) -> bool:
    """Every batch Lambda received has an END line (its invocation returned or timed
    out), however long a busy machine took to start it; or an invocation never logged
    (bounded)."""
    idle = deliveries.idle_for()
    return int(log.get("ends", 0)) >= deliveries.receives or \
        (idle is not None and idle > function_timeout + 20.0)


def _settle(ctx: CheckContext, since: float, ids: set[str], timeout: float
            ) -> dict[str, Any]:
    """Until every id is stored and the queue shows nothing visible, or what is left in
    flight is no longer worked on (bounded); returns the last log reading. A batch runs at
    most the function's timeout, however long a busy machine takes to start it."""
    state: dict[str, Any] = {}
    deliveries = Deliveries(ctx.endpoint, ctx.name(QUEUE), since - 1.0)
    function_timeout = float((_function(ctx) or {}).get("Timeout", 5))
    window = float((_mapping(ctx) or {}).get("MaximumBatchingWindowInSeconds") or 0)
    track: dict[str, Any] = {"sig": None, "at": time.monotonic()}

    def settled() -> bool:
        state.update(read_log(ctx, since))
        deliveries.read()
        depth = _depth(ctx)
        sig = (len(state["batches"]), depth["visible"], depth["in_flight"])
        if sig != track["sig"]:
            track.update(sig=sig, at=time.monotonic())
        if depth["visible"] > 0:
            return False
        if ids <= set(state["stored"]):
            return True
        quiet = time.monotonic() - track["at"]
        if deliveries.available:
            # Log lines reach CloudWatch a moment after Lambda deleted their messages.
            return quiet >= 2 and (not depth["in_flight"]
                                   or _all_returned(deliveries, state, function_timeout))
        ends = [b["end"] for b in state["batches"]]
        return bool(ends) and time.time() - max(ends) > max(4.0, window + 2)

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
    outcome = redrive_outcome(ctx, QUEUE, DLQ, *RECEIVES)
    attrs = ctx.queue_attributes(QUEUE)
    target = (_function(ctx) or {}).get("DeadLetterConfig", {}).get("TargetArn")
    if attrs is not None and not attrs.get("RedrivePolicy") and target:
        # The DLQ of an SQS-triggered function is the queue's, not the function's.
        return failed(outcome.expected, f"no redrive policy on the queue; the function's "
                      f"DeadLetterConfig ({target}) serves only asynchronous invocations, "
                      "never messages Lambda polls from SQS")
    return outcome


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
            "errors": [b["error"] for b in batches if b.get("error")][:3],
            "timeouts": state["timeouts"], "depth": _depth(ctx), "log": state["other"][-5:]}


@check
def batching_config(ctx: CheckContext) -> Outcome:
    mapping = _mapping(ctx)
    if mapping is None:
        return _no_mapping(ctx)
    size = int(mapping.get("BatchSize", 10))
    window = int(mapping.get("MaximumBatchingWindowInSeconds", 0) or 0)
    low, high = WINDOW
    size_ok, window_ok = size >= MIN_BATCH, low <= window <= high
    found = f"BatchSize {size}, window {window} s"
    if not size_ok:
        found += f" (each invocation pays the 0.3 s connection for at most {size} rows)"
    if window > high:
        found += f" (a lonely event waits up to {window} s)"
    elif window < low:
        found += " (no window: a trickle is handed over as it comes, in small batches)"
    return partial(0.5 * size_ok + 0.5 * window_ok,
                   f"BatchSize {MIN_BATCH} or more and MaximumBatchingWindowInSeconds "
                   f"{low} to {high}", found, batch_size=size, window=window)


@check
def few_invocations(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("trickle")
    limit, why = _invocation_limit(ctx, result)
    found = (f"{result['invocations']} invocations for {result['stored']} of "
             f"{result['sent']} events, batch sizes {result['histogram']} (size: count)")
    if result["stored"] < result["sent"]:
        return failed(f"all {result['sent']} events stored", found
                      + (f"; the function raised {result['errors'][0]}"
                         if result["errors"] else "")
                      + (f"; {result['timeouts']} invocations timed out (`Status: timeout` "
                         "in the REPORT lines): their batches come back after the "
                         "visibility timeout" if result["timeouts"] else "")
                      + (f"; {result['depth']['in_flight']} messages in flight: throttled "
                         "or failed batches, back after the visibility timeout"
                         if result["depth"]["in_flight"] and not result["timeouts"] else ""),
                      **result)
    if result["invocations"] > limit:
        found += (f": {result['invocations']} warehouse connections (0.3 s each); batches "
                  f"of 10 would need {TEN_BATCHES}")
    return expect(result["invocations"] <= limit,
                  f"at most {limit} invocations for {result['sent']} events arriving at "
                  f"{result['rate']:g}/s{why} (each invocation pays the 0.3 s warehouse "
                  "connection)", found, limit=limit, **result)


def _invocation_limit(ctx: CheckContext, result: dict[str, Any]) -> tuple[int, str]:
    """What every configuration the step allows achieves, with room for the partial
    batches at the ends of a burst and for parallel pollers; never as many as batches of
    10 cost. If the tutor sent slower than 50/s (a busy machine), batches fill less."""
    limit = int(ctx.params.get("max_invocations", 12))
    size = max(1, int(result.get("batch_size") or 10))
    window = max(1, int(result.get("window") or 0))
    rate = float(result.get("rate") or 50.0)
    if size >= MIN_BATCH and rate < 50.0:
        fill = max(1.0, min(size, rate * window))
        slowed = min(TEN_BATCHES - 1, -(-int(result["sent"]) // int(fill)) + 4)
        if slowed > limit:
            return slowed, (f" (the tutor's machine sent only {rate:.0f}/s: batches fill "
                            f"to about {fill:.0f})")
    sizes = [int(n) for n in (result.get("histogram") or {})]
    if max(sizes, default=0) > 10 and limit < TEN_BATCHES - 3:
        # A batch of more than 10 is the window at work (no configuration without one
        # makes it); on a busy machine the poller's receives are slower and the window
        # closes on fewer messages. Still far fewer than batches of 10 need.
        return TEN_BATCHES - 3, (" (batches of more than 10 show the batching window at "
                                 "work; a busy machine's poller fills them less)")
    return limit, ""



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


def _send_poison(ctx: CheckContext, url: str, run: str, bad_at: set[int], count: int
                 ) -> dict[str, str]:
    """`count` events in batches of 10, the ones at `bad_at` bad: message id -> event id."""
    sqs = ctx.client("sqs")
    ids: dict[str, str] = {}

    def event_id(i: int) -> str:
        return f"{run}-bad{i}" if i in bad_at else f"{run}-{i}"

    for first in range(0, count, 10):
        entries = [{"Id": str(i), "MessageBody": json.dumps(
            {"event_id": event_id(i), "amount": -1 if i in bad_at else i})}
            for i in range(first, min(first + 10, count))]
        sent = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        ids.update({e["MessageId"]: event_id(int(e["Id"])) for e in sent.get("Successful", [])})
    return ids


@scenario(timeout=60)
def poison(ctx: CheckContext) -> dict[str, Any]:
    """100 good events and 3 bad ones in one burst; then, if exactly the bad ones are kept,
    the retry after the visibility timeout: it must bring back the bad ones only."""
    url = _require(ctx)
    visibility = int((ctx.queue_attributes(QUEUE) or {}).get("VisibilityTimeout", 30))
    function_timeout = float((_function(ctx) or {}).get("Timeout", 5))
    since = time.time()
    run = uuid.uuid4().hex[:6]
    bad_at = {10, 45, 80}
    deliveries = Deliveries(ctx.endpoint, ctx.name(QUEUE), since - 1.0)
    ids = _send_poison(ctx, url, run, bad_at, 100 + len(bad_at))
    good = {e for e in ids.values() if "-bad" not in e}
    bad_ids = {m for m, e in ids.items() if "-bad" in e}
    state: dict[str, Any] = {}
    track: dict[str, Any] = {"sig": None, "at": time.monotonic()}

    def first_pass() -> bool:
        state.update(read_log(ctx, since))
        deliveries.read()
        depth = _depth(ctx)
        sig = (len(state["batches"]), sum(state["stored"].values()), depth["visible"],
               depth["in_flight"])
        if sig != track["sig"]:
            track.update(sig=sig, at=time.monotonic())
        if depth["visible"] > 0:
            return False
        if good <= set(state["stored"]) and depth["in_flight"] <= len(bad_at):
            return True
        # The log lines of the last invocations reach CloudWatch a moment after Lambda
        # deleted their messages: nothing new for 3 s before counting what is missing.
        quiet = time.monotonic() - track["at"] >= 2
        if deliveries.available:
            return quiet and (not depth["in_flight"]
                              or _all_returned(deliveries, state, function_timeout))
        ends = [b["end"] for b in state["batches"]]
        return bool(ends) and time.time() - max(ends) > 4

    ctx.runner.wait_until(first_pass, timeout=40, interval=1.0)
    # Lambda deletes a batch's messages just after the invocation logged: give the last
    # deletion a moment before counting what is left.
    ctx.runner.wait_until(lambda: sum(_depth(ctx).values()) <= len(bad_at), timeout=3,
                          interval=0.5)
    deliveries.read()
    depth = _depth(ctx)
    held = deliveries.held() or set()
    retry = "not needed"
    if deliveries.available and held == bad_ids:
        retry = _wait_retry(ctx, deliveries, bad_ids, visibility)
        state.update(read_log(ctx, since))
    counts = state["stored"]
    batches = state["batches"]
    redelivered_good = sorted(ids[m] for m in ids if m not in bad_ids
                              and deliveries.received[m] > 1)
    result = {"good": len(good), "bad": len(bad_at), "depth": depth,
              "traced": deliveries.available,
              "held_good": sorted(ids[m] for m in held - bad_ids),
              "deleted_bad": sorted(ids[m] for m in bad_ids if m in deliveries.ended
                                    and deliveries.received[m] <= 1),
              "retry": retry, "redelivered_good": redelivered_good,
              "bad_redelivered": sum(1 for m in bad_ids if deliveries.received[m] > 1),
              "visibility": visibility,
              "stored_once": sum(1 for i in good if counts.get(i) == 1),
              "stored_twice": sum(1 for i in good if counts.get(i, 0) > 1),
              "missing": sum(1 for i in good if i not in counts),
              "missing_deleted": sum(1 for m, e in ids.items() if e in good
                                     and e not in counts and m in deliveries.ended),
              "bad_stored": sum(1 for k in counts if "-bad" in k),
              "reported": sum(int(b.get("failed") or 0) for b in batches),
              "raised": [b["error"] for b in batches if b.get("error")][:3],
              "invocations": len(batches), "histogram": _histogram(batches),
              "timeouts": state["timeouts"], "budget": ctx.budget_note(),
              "log": state["other"][-8:]}
    sqs = ctx.client("sqs")
    try:  # the bad ones would cycle for minutes on their way to the DLQ
        sqs.purge_queue(QueueUrl=url)
    except sqs.exceptions.PurgeQueueInProgress:
        pass
    return result


def _wait_retry(ctx: CheckContext, deliveries: Deliveries, bad_ids: set[str],
                visibility: int) -> str:
    """Until SQS delivered every bad message again and that invocation returned (sized
    from the learner's visibility timeout), or a good one came back (certain failure)."""
    most = 90.0
    if visibility + 10 > most:
        return "later than the tutor waits"
    wait = ctx.budget(visibility + 10, f"your visibility timeout of {visibility} s (the bad "
                      "messages come back after it)", most=most)

    state = {"back": 0.0}

    def retried() -> bool:
        deliveries.read()
        if any(deliveries.received[m] > 1 for m in set(deliveries.received) - bad_ids):
            return True
        if not state["back"]:
            if not all(deliveries.received[m] > 1 for m in bad_ids):
                return False
            state["back"] = max(deliveries.received_at[m] for m in bad_ids)
        # Then the invocation that got them again must have returned (its log line).
        ends = [b["end"] for b in read_log(ctx, state["back"] - 1.0)["batches"]]
        return bool(ends) or time.time() - state["back"] > 10

    return "seen" if ctx.runner.wait_until(retried, timeout=wait, interval=1.0) else "timeout"


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
    bad = result["bad"]
    expected = (f"exactly the {bad} bad messages left for a retry, and only they delivered "
                "again after the visibility timeout")
    if not result["traced"]:
        return _only_bad_by_depth(result, expected)
    raised = (f"; the function raised {result['raised'][0]}" if result["raised"] else "")
    if result["held_good"]:
        found = (f"{len(result['held_good'])} good messages kept for a retry with the bad "
                 "ones: they will run again after the visibility timeout (duplicates)")
        if result["timeouts"]:
            found += (f" — {result['timeouts']} invocations timed out (`Status: timeout` in "
                      "the function's REPORT lines), and a batch that times out comes back "
                      "whole: is the machine very busy?")
        elif result["raised"]:
            found += (" — an exception escaped the handler, so Lambda failed the whole batch "
                      "(batchItemFailures count only when the handler returns); catch "
                      "BadRecord per record and return the failures, do not raise")
        elif result["reported"] > bad:
            found += (f" — the function reported {result['reported']} failures for {bad} bad "
                      "records, so whole batches came back: it reported records that worked "
                      "(only the bad records' messageIds belong in batchItemFailures)")
        elif result["reported"]:
            found += (f" — the function reported {result['reported']} failures, yet whole "
                      "batches came back: is each itemIdentifier the record's messageId? "
                      "(an unknown identifier fails the whole batch), or did it report "
                      "records that worked?")
        return failed(expected, found + raised, **result)
    if result["deleted_bad"]:
        return failed(expected, f"{len(result['deleted_bad'])} bad messages deleted as if "
                      "processed (they will never reach the DLQ): the function did not "
                      "report them in batchItemFailures, or the mapping ignores it "
                      "(FunctionResponseTypes)" + raised, **result)
    if result["redelivered_good"]:
        return failed(expected, f"good events delivered again: {result['redelivered_good'][:3]}"
                      + raised, **result)
    if result["retry"] == "seen" and result["bad_redelivered"] == bad:
        return passed(expected, f"the {bad} bad messages, delivered again after the "
                      f"visibility timeout ({result['visibility']} s), alone", **result)
    if result["retry"] in ("timeout", "later than the tutor waits"):
        return passed(expected, f"the {bad} bad messages kept for a retry after your "
                      f"visibility timeout of {result['visibility']} s, later than the "
                      f"tutor waits{result['budget']}", **result)
    return failed(expected, f"{result['depth']} left, {result['bad_redelivered']} bad ones "
                  "delivered again" + raised, **result)


def _only_bad_by_depth(result: dict[str, Any], expected: str) -> Outcome:
    """Without the tutor's SQS trace: the count of messages left in flight."""
    waiting = result["depth"]["visible"] + result["depth"]["in_flight"]
    bad = result["bad"]
    if waiting == bad:
        return partial(1.0, expected, f"{waiting} waiting for the visibility timeout",
                       **result)
    if waiting > bad:
        found = (f"{waiting} messages in flight: {waiting - bad} good ones will run again "
                 "after the visibility timeout (duplicates)")
    else:
        found = (f"{waiting} in flight: the bad messages were deleted as if processed "
                 "(they will never reach the DLQ)")
    if result["raised"]:
        found += f"; the function raised {result['raised'][0]}"
    return failed(expected, found, **result)


@check
def good_stored_once(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("poison")
    good = result["good"]
    found = (f"{result['stored_once']} once, {result['stored_twice']} twice, "
             f"{result['missing']} not stored, {result['bad_stored']} bad ones stored")
    if result["missing_deleted"]:
        found += (f"; {result['missing_deleted']} good events were deleted without being "
                  "stored (lost): store the good rows before returning the failures")
    elif result["missing"]:
        found += " (the missing ones wait in a failed batch)"
    return partial(result["stored_once"] / good,
                   f"each of the {good} good events stored exactly once, the "
                   f"{result['bad']} bad ones never", found, **result)
