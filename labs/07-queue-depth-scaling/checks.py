"""Checks for lab 07: scaling a consumer fleet on queue depth (backlog per instance)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import json
import math
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

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

LAB_DIR = Path(__file__).resolve().parent
PROVIDED = ("scaler.py", "worker.py")  # the lab's programs: the learner configures, not edits
LOG = "scaling-log.jsonl"
LEDGER = "processed.jsonl"
BURST = 800  # jobs; about 0.7 s of SendMessageBatch from 8 threads on 2 cores
MAX_ALLOWED = 4  # consumers the downstream service takes (and what 2 cores run well)
METRIC = "ApproximateNumberOfMessagesVisible"


# --- helpers ---------------------------------------------------------------------------


def scaler_module() -> ModuleType:
    """The lab's pristine scaler.py (its policy loader is the one the scaler obeys)."""
    name = "tutor_lab07_scaler"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, LAB_DIR / "starter" / "scaler.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _policy(ctx: CheckContext) -> Any:
    """The learner's policy, or raise ScenarioFailed naming what to fix."""
    scaler = scaler_module()
    try:
        return scaler.load_policy(ctx.workspace / "scaling.yaml")
    except scaler.PolicyError as exc:
        raise ScenarioFailed(f"scaling.yaml: {exc}", fix="finish step 3 first") from None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    try:
        text = path.read_text()
    except OSError:
        return found
    for line in text.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue  # a line being written right now
    return found


def _alarm(ctx: CheckContext, suffix: str) -> dict[str, Any] | None:
    found = ctx.client("cloudwatch").describe_alarms(AlarmNames=[ctx.name(suffix)])
    alarms = found.get("MetricAlarms", [])
    return dict(alarms[0]) if alarms else None


def _alarm_shape(ctx: CheckContext, alarm: dict[str, Any], direction: str
                 ) -> tuple[list[str], list[str]]:
    """(parts right, parts wrong) of an alarm on the queue's backlog metric."""
    dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    period = ctx.clock.seconds("alarm_period")
    op = str(alarm.get("ComparisonOperator", ""))
    parts = {
        "namespace AWS/SQS": alarm.get("Namespace") == "AWS/SQS",
        f"metric {METRIC}": alarm.get("MetricName") == METRIC,
        f"dimension QueueName={ctx.name('jobs')}": dims == {"QueueName": ctx.name("jobs")},
        f"period {period:g} s": float(alarm.get("Period", 0)) == period,
        f"a {direction} comparison": op.startswith(direction),
    }
    right = [k for k, ok in parts.items() if ok]
    wrong = [k for k, ok in parts.items() if not ok]
    return right, wrong


# --- step 1: the queue -----------------------------------------------------------------


@check
def queue_exists(ctx: CheckContext) -> Outcome:
    url = ctx.queue_url("jobs")
    return expect(url is not None, f"the queue `{ctx.name('jobs')}` to exist",
                  url or "no such queue (run `python infra.py`)")


@check
def long_polling(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("jobs")
    if attrs is None:
        return failed(f"the queue `{ctx.name('jobs')}` to exist", "no such queue")
    wait = int(attrs.get("ReceiveMessageWaitTimeSeconds", 0))
    return expect(wait >= 1, f"`{ctx.name('jobs')}` to use long polling "
                  "(ReceiveMessageWaitTimeSeconds 1..20)",
                  f"ReceiveMessageWaitTimeSeconds {wait} (short polling: idle consumers "
                  "spin on empty receives)" if wait < 1 else f"{wait} s", wait_seconds=wait)


@check
def visibility_timeout(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("jobs")
    if attrs is None:
        return failed(f"the queue `{ctx.name('jobs')}` to exist", "no such queue")
    vt = int(attrs.get("VisibilityTimeout", 30))
    batch = 10 * ctx.clock.seconds("processing_time")
    latency = ctx.clock.seconds("acceptable_latency")
    expected = (f"a visibility timeout above one batch ({batch:g} s) and at most the "
                f"acceptable latency ({latency:g} s)")
    if vt > latency:
        return failed(expected, f"{vt} s: a batch held by a consumer that is scaled in "
                      f"would come back only after {vt} s", visibility_timeout=vt)
    return expect(vt > batch, expected, f"{vt} s", visibility_timeout=vt)


# --- step 2: the backlog alarm ---------------------------------------------------------


@check
def high_alarm(ctx: CheckContext) -> Outcome:
    name = ctx.name("backlog-high")
    alarm = _alarm(ctx, "backlog-high")
    if alarm is None:
        return failed(f"the alarm `{name}` to exist", "no such alarm")
    right, wrong = _alarm_shape(ctx, alarm, "Greater")
    threshold = float(alarm.get("Threshold", 0))
    if 0 < threshold < BURST:
        right.append(f"threshold {threshold:g}")
    else:
        wrong.append(f"a threshold between 0 and the burst size {BURST} "
                     f"(found {threshold:g})")
    evidence = {k: alarm.get(k) for k in ("Namespace", "MetricName", "Dimensions", "Period",
                                          "Statistic", "ComparisonOperator", "Threshold",
                                          "EvaluationPeriods", "StateValue")}
    if not wrong:
        return passed("", f"`{name}`: " + ", ".join(right), alarm=evidence)
    dims = ",".join(f"{d['Name']}={d['Value']}" for d in alarm.get("Dimensions", [])) or "none"
    found = (f"{alarm.get('Namespace')} {alarm.get('MetricName')} (dimensions {dims}), period "
             f"{alarm.get('Period')} s, {alarm.get('ComparisonOperator')} {threshold:g}")
    return partial(len(right) / (len(right) + len(wrong)),
                   f"`{name}` to have " + ", ".join(wrong), found, alarm=evidence)


# --- step 3: the policy ----------------------------------------------------------------


@check
def policy_valid(ctx: CheckContext) -> Outcome:
    scaler = scaler_module()
    try:
        policy = scaler.load_policy(ctx.workspace / "scaling.yaml")
    except scaler.PolicyError as exc:
        return failed("a valid scaling.yaml", str(exc))
    return passed("", f"a {policy.kind.replace('_', ' ')} policy",
                  policy={k: v for k, v in policy.__dict__.items() if k != "out_steps"})


@check
def policy_bounds(ctx: CheckContext) -> Outcome:
    policy = _policy(ctx)
    per_consumer = ctx.clock.seconds("acceptable_latency") / ctx.clock.seconds("processing_time")
    needed = math.ceil(BURST / per_consumer)
    parts = {
        "min_consumers >= 1": policy.min_consumers >= 1,
        f"max_consumers >= {needed} (a burst of {BURST} jobs / {per_consumer:g} jobs per "
        "consumer within the latency target)": policy.max_consumers >= needed,
        f"max_consumers <= {MAX_ALLOWED} (the downstream service's limit)":
            policy.max_consumers <= MAX_ALLOWED,
    }
    wrong = [k for k, ok in parts.items() if not ok]
    found = f"min {policy.min_consumers}, max {policy.max_consumers}"
    return partial(1 - len(wrong) / len(parts), " and ".join(wrong) or "", found,
                   min_consumers=policy.min_consumers, max_consumers=policy.max_consumers)


@check
def policy_target(ctx: CheckContext) -> Outcome:
    policy = _policy(ctx)
    latency = ctx.clock.seconds("acceptable_latency")
    work = ctx.clock.seconds("processing_time")
    best = latency / work
    if policy.kind == "target_tracking":
        target = policy.target_value
        expected = (f"a target of at most {best:g} jobs per consumer (acceptable latency "
                    f"{latency:g} s / {work:g} s per job)")
        if target > best:
            return partial(best / target, expected,
                           f"{target:g}: the last job of a consumer's share would wait "
                           f"{target * work:g} s", target_value=target)
        if target < best / 10:
            return partial(0.5, f"a target near {best:g} (not far below it)",
                           f"{target:g}: the fleet would scale out for a few jobs",
                           target_value=target)
        return passed(expected, f"target {target:g} jobs per consumer "
                      f"(the last one waits about {target * work:g} s)", target_value=target)
    # Step scaling: both alarms must exist and watch the backlog in the right direction.
    right: list[str] = []
    wrong: list[str] = []
    for name, direction in ((policy.out_alarm, "Greater"), (policy.in_alarm, "Less")):
        alarm = _alarm(ctx, name)
        if alarm is None:
            wrong.append(f"the alarm `{name}` to exist")
            continue
        ok, bad = _alarm_shape(ctx, alarm, direction)
        right += [f"{name}: {p}" for p in ok]
        wrong += [f"{name}: {p}" for p in bad]
    if not wrong:
        return passed("", "scale-out and scale-in alarms on the backlog metric")
    return partial(len(right) / (len(right) + len(wrong)) if right else 0.0,
                   "; ".join(wrong), "not so", policy="step_scaling")


@check
def policy_cooldowns(ctx: CheckContext) -> Outcome:
    policy = _policy(ctx)
    period = ctx.clock.seconds("metric_period")
    parts = {
        "scale_out_cooldown <= scale_in_cooldown (scale out fast, in slowly)":
            policy.scale_out_cooldown <= policy.scale_in_cooldown,
        f"scale_in_cooldown >= the metric period {period:g} s (never two scale-ins on "
        "one datapoint)": policy.scale_in_cooldown >= period,
    }
    wrong = [k for k, ok in parts.items() if not ok]
    return partial(1 - len(wrong) / len(parts), " and ".join(wrong) or "",
                   f"out {policy.scale_out_cooldown:g} s, in {policy.scale_in_cooldown:g} s",
                   scale_out_cooldown=policy.scale_out_cooldown,
                   scale_in_cooldown=policy.scale_in_cooldown)


# --- step 4: the burst -----------------------------------------------------------------


def _intact(ctx: CheckContext) -> None:
    for name in PROVIDED:
        mine = ctx.workspace / name
        if not mine.is_file() or mine.read_bytes() != (LAB_DIR / "starter" / name).read_bytes():
            raise ScenarioFailed(f"`{name}` differs from the one the lab provides: the checks "
                                 "measure the lab's scaler and worker, not a changed copy",
                                 fix=f"restore it with `tutor lab reset {ctx.lab_id}` (copy "
                                 "infra.py and scaling.yaml aside first)")



def _ticks(ctx: CheckContext) -> list[dict[str, Any]]:
    return [e for e in _read_jsonl(ctx.workspace / LOG) if e.get("event") == "tick"]


def _metric_interval(ctx: CheckContext, start: float, end: float) -> float | None:
    """Median seconds between the queue's metric datapoints in [start, end]."""
    response = ctx.client("cloudwatch").get_metric_data(
        MetricDataQueries=[{"Id": "v", "MetricStat": {
            "Metric": {"Namespace": "AWS/SQS", "MetricName": METRIC,
                       "Dimensions": [{"Name": "QueueName", "Value": ctx.name("jobs")}]},
            "Period": 1, "Stat": "SampleCount"}}],
        StartTime=dt.datetime.fromtimestamp(start, dt.UTC),
        EndTime=dt.datetime.fromtimestamp(end, dt.UTC))
    stamps = sorted(t.timestamp() for t in response["MetricDataResults"][0]["Timestamps"])
    gaps = sorted(b - a for a, b in itertools.pairwise(stamps))
    return gaps[len(gaps) // 2] if gaps else None


@scenario(timeout=85)
def burst_run(ctx: CheckContext) -> dict[str, Any]:
    """Start the scaler, send a burst, wait for the drain and the scale-in, stop it."""
    url = ctx.queue_url("jobs")
    if url is None:
        raise ScenarioFailed(f"the queue `{ctx.name('jobs')}` does not exist",
                             fix="run `python infra.py` (step 1)")
    _intact(ctx)
    policy = _policy(ctx)
    ctx.drain(url)
    (ctx.workspace / LEDGER).unlink(missing_ok=True)
    run = uuid.uuid4().hex[:8]
    began = time.time()
    scaler = ctx.runner.start("scaler.py", "--duration", "80", "--log", LOG, measure=False)

    def ready() -> bool:
        ticks = _ticks(ctx)
        return bool(ticks) and ticks[-1]["visible"] is not None \
            and ticks[-1]["consumers"] >= policy.min_consumers

    period = ctx.clock.seconds("metric_period")
    if not ctx.runner.wait_until(ready, timeout=2 * period + 6, interval=0.3):
        raise ScenarioFailed(
            f"the scaler saw no {METRIC} datapoint for `{ctx.name('jobs')}` within "
            f"{2 * period + 6:g} s", scaler.output(),
            fix="this lab needs SQS metrics every 5 s: start LocalStack with "
            "SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL=5 (`tutor localstack up` does; "
            "LocalStack's default is 60 s)")
    burst_at = time.time()
    sent = ctx.runner.burst(url, BURST, body=lambda i: json.dumps({"run": run, "seq": i}))

    def mine() -> list[dict[str, Any]]:
        return [r for r in _read_jsonl(ctx.workspace / LEDGER) if f'"run": "{run}"' in r["body"]]

    def settled() -> bool:
        ticks = _ticks(ctx)
        done = {r["id"] for r in mine()}
        return len(done) >= sent.sent and bool(ticks) \
            and ticks[-1]["consumers"] <= policy.min_consumers

    budget = max(5.0, 78 - (time.time() - began))
    settled_ok = ctx.runner.wait_until(settled, timeout=budget, interval=0.5)
    # A fast fleet can settle before CloudWatch evaluates the alarm (every alarm period,
    # on datapoints up to one metric period old): give it that long after the burst.
    alarm = ctx.name("backlog-high")
    alarm_due = burst_at + ctx.clock.seconds("alarm_period") + period + 3

    def alarm_seen() -> bool:
        states = [t["alarms"].get(alarm) for t in _ticks(ctx) if t["ts"] >= burst_at]
        return "ALARM" in states or not any(states) or time.time() > alarm_due

    ctx.runner.wait_until(alarm_seen, timeout=max(0.0, min(alarm_due - time.time(),
                                                           80 - (time.time() - began))))
    ended = time.time()
    scaler.stop(grace=STOP_WAIT)
    log = _read_jsonl(ctx.workspace / LOG)
    orphans = _orphans(log)
    records = mine()
    ages = sorted(r["done"] - r["sent"] for r in records)
    ids = [r["id"] for r in records]
    return {
        "run": run, "burst_at": burst_at, "ended": ended, "settled": settled_ok,
        "sent": sent.sent, "send_seconds": round(sent.seconds, 2),
        "processed": len(set(ids)), "duplicates": len(ids) - len(set(ids)),
        "max_age": round(ages[-1], 2) if ages else None,
        "p50_age": round(ages[len(ages) // 2], 2) if ages else None,
        "log": log, "orphans": orphans,
        "policy": {k: v for k, v in policy.__dict__.items() if k != "out_steps"},
        "metric_interval": _metric_interval(ctx, began, ended),
        "output": scaler.output(15),
    }


STOP_WAIT = 8.0  # the scaler's own shutdown: SIGTERM to workers, 5 s grace, then SIGKILL


def _orphans(log: list[dict[str, Any]]) -> list[int]:
    """Consumers the scaler started that still run after it stopped (killed here)."""
    import os
    import signal

    import psutil

    left = []
    for pid in {e["pid"] for e in log if e.get("event") == "consumer_start"}:
        try:
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE and "worker.py" in " ".join(proc.cmdline()):
                left.append(pid)
                os.kill(pid, signal.SIGKILL)
        except (psutil.Error, OSError):
            continue
    return left


def _relative(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The scaling decisions, with seconds since the burst: the evidence to show."""
    return [{"t": round(e["ts"] - run["burst_at"], 1), "from": e["from"], "to": e["to"],
             "reason": e["reason"]} for e in run["log"] if e.get("event") == "scale"]


def _after_burst(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in run["log"] if e.get("event") == "tick" and e["ts"] >= run["burst_at"]]


@check
def scaled_out(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("burst_run")
    low = run["policy"]["min_consumers"]
    bound = ctx.clock.seconds("scale_out_reaction")
    ticks = _after_burst(run)
    first = next((t for t in ticks if t["consumers"] > low), None)
    busy = sorted(t["cpu"] / t["consumers"] for t in ticks
                  if (t["visible"] or 0) > 0 and t["cpu"] is not None and t["consumers"])
    cpu = (f"; meanwhile a consumer used {busy[len(busy) // 2]:.0f}% CPU (median): a CPU "
           "target would not have scaled out") if busy else ""
    expected = f"more than {low} consumer(s) within {bound:g} s of the burst"
    if first is None:
        return failed(expected, f"the fleet stayed at {low}", scaling=_relative(run))
    took = first["ts"] - run["burst_at"]
    found = f"{first['consumers']} consumers {took:.1f} s after the burst{cpu}"
    if took <= bound:
        return passed(expected, found, scaling=_relative(run), seconds=round(took, 1))
    return partial(bound / took, expected, found, scaling=_relative(run))


@check
def max_respected(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("burst_run")
    live: set[int] = set()
    most = 0
    for e in run["log"]:  # live processes, not just what the scaler decided
        if e.get("event") == "consumer_start":
            live.add(e["pid"])
        elif e.get("event") in ("consumer_exit", "consumer_died"):
            live.discard(e["pid"])
        most = max(most, len(live))
    expected = f"never more than {MAX_ALLOWED} consumers (the downstream service's limit)"
    if most == 0:
        return failed(expected, "no consumer ran at all")
    return expect(most <= MAX_ALLOWED, expected, f"at most {most}", most=most)


@check
def scaled_in(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("burst_run")
    low = run["policy"]["min_consumers"]
    cooldown = run["policy"]["scale_in_cooldown"]
    scales = [e for e in run["log"] if e.get("event") == "scale"]
    ticks = [e for e in run["log"] if e.get("event") == "tick"]
    ins = [e for e in scales if e["to"] < e["from"]]
    expected = (f"the fleet back at min_consumers {low} after the drain, each scale-in at "
                f"least {cooldown:g} s after the previous scaling activity")
    if not ticks or not ins:
        return failed(expected, "no scale-in" + ("" if run["settled"] else
                                                 " before the checks gave up"),
                      scaling=_relative(run))
    early = []
    for e in ins:
        before = [s for s in scales if s["ts"] < e["ts"] and s["from"] > 0]
        if before and e["ts"] - before[-1]["ts"] < cooldown - 0.5:
            early.append(round(e["ts"] - before[-1]["ts"], 1))
    below = min(t["consumers"] for t in ticks if t["ts"] >= ins[0]["ts"])
    final = ticks[-1]["consumers"]
    problems = []
    if final != low:
        problems.append(f"{final} consumers at the end")
    if below < low:
        problems.append(f"{below} consumers at one point (below min)")
    if early:
        problems.append(f"scale-ins {early} s after the previous activity")
    if problems:
        return partial(0.5 if final == low else 0.25, expected, "; ".join(problems),
                       scaling=_relative(run))
    last = ins[-1]["ts"] - run["burst_at"]
    return passed(expected, f"{len(ins)} scale-in(s), at {low} from {last:.1f} s after the "
                  "burst", scaling=_relative(run))


@check
def age_bound(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("burst_run")
    bound = ctx.clock.seconds("age_bound")
    expected = f"no job older than {bound:g} s when processed"
    if run["max_age"] is None:
        return failed(expected, "no job of the burst was processed")
    missing = run["sent"] - run["processed"]
    if missing:
        waited = time.time() - run["burst_at"]
        return failed(expected, f"{missing} of {run['sent']} jobs still unprocessed after "
                      f"{waited:.0f} s", max_age=run["max_age"])
    found = f"the oldest waited {run['max_age']:.1f} s (median {run['p50_age']:.1f} s)"
    if run["max_age"] <= bound:
        return passed(expected, found, max_age=run["max_age"], p50_age=run["p50_age"])
    return partial(bound / run["max_age"], expected, found, max_age=run["max_age"])


@check
def nothing_lost(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("burst_run")
    expected = f"all {run['sent']} jobs of the burst processed"
    found = f"{run['processed']} processed, {run['duplicates']} twice"
    if run["sent"] == 0:
        return failed(expected, "the burst could not be sent")
    return partial(run["processed"] / run["sent"], expected, found,
                   duplicates=run["duplicates"]) if run["processed"] < run["sent"] \
        else passed(expected, found, duplicates=run["duplicates"])


@check
def alarm_fired(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("burst_run")
    name = ctx.name("backlog-high")
    states = [(t["ts"], t["alarms"].get(name)) for t in _after_burst(run)]
    expected = f"`{name}` in ALARM during the burst"
    if not any(s is not None for _, s in states):
        return failed(expected, "no such alarm")
    first = next((ts for ts, s in states if s == "ALARM"), None)
    if first is None:
        seen = sorted({s for _, s in states if s})
        return failed(expected, f"only {', '.join(seen)} (threshold above the backlog, "
                      "or the wrong metric or dimension?)")
    return passed(expected, f"ALARM {first - run['burst_at']:.1f} s after the burst")


@check
def metrics_interval(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("burst_run")
    period = ctx.clock.seconds("metric_period")
    interval = run["metric_interval"]
    expected = f"{METRIC} datapoints every {period:g} s or so"
    if interval is None:
        return failed(expected, "fewer than two datapoints during the run — LocalStack "
                      "publishes SQS metrics every SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL "
                      "seconds (default 60); restart it with 5")
    return expect(interval <= 2 * period, expected, f"one every {interval:g} s",
                  interval=interval)
