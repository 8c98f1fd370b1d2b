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


GAUGE_STATS = ("Maximum", "Average")  # a backlog gauge sampled twice per 10 s period
LOW_MOST = 20  # "almost gone": a low alarm is in ALARM at this backlog or below


def _per_consumer(ctx: CheckContext) -> float:
    """Jobs one consumer clears within the acceptable latency (10 s / 0.05 s = 200)."""
    return ctx.clock.seconds("acceptable_latency") / ctx.clock.seconds("processing_time")


def _in_alarm(alarm: dict[str, Any], backlog: float) -> bool | None:
    """Would `alarm` be in ALARM at this backlog? None: not a plain threshold alarm."""
    threshold = alarm.get("Threshold")
    if threshold is None:
        return None
    t = float(threshold)
    return {"GreaterThanThreshold": backlog > t,
            "GreaterThanOrEqualToThreshold": backlog >= t,
            "LessThanThreshold": backlog < t,
            "LessThanOrEqualToThreshold": backlog <= t}.get(
                str(alarm.get("ComparisonOperator")))


def _alarm_problems(ctx: CheckContext, alarm: dict[str, Any], high: bool) -> list[str]:
    """What is wrong with an alarm on the backlog of the jobs queue, in the learner's terms.

    A high alarm must be OK one job below what one consumer clears within the latency
    target (200) and in ALARM one job above it; a low alarm in ALARM with nothing waiting
    and OK above LOW_MOST jobs. Both: the queue's own metric, a gauge statistic, one
    period of the lab clock."""
    problems = []
    queue = ctx.name("jobs")
    if alarm.get("Metrics"):
        return ["an alarm on the metric itself (Namespace, MetricName, Dimensions), not a "
                "metric-math expression"]
    if alarm.get("Namespace") != "AWS/SQS":
        problems.append(f"namespace AWS/SQS (found {alarm.get('Namespace')})")
    if alarm.get("MetricName") != METRIC:
        problems.append(f"metric {METRIC}, the jobs waiting (found {alarm.get('MetricName')}"
                        + (": that is the jobs in flight, being worked on"
                           if alarm.get("MetricName") == "ApproximateNumberOfMessagesNotVisible"
                           else "") + ")")
    dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    if dims != {"QueueName": queue}:
        shown = ",".join(f"{k}={v}" for k, v in dims.items()) or "none"
        problems.append(f"the one dimension QueueName={queue} (found {shown}: an alarm "
                        "on a dimension SQS does not publish stays in INSUFFICIENT_DATA)")
    stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    if stat not in GAUGE_STATS:
        why = (": Sum adds up the samples of a period, so the alarm sees a multiple of the "
               "backlog" if stat == "Sum" else "")
        problems.append(f"statistic Maximum or Average (found {stat}{why})")
    unit = alarm.get("Unit")
    if unit not in (None, "Count"):
        problems.append(f"no Unit, or Count (found {unit}: SQS publishes the backlog in Count, "
                        "so the alarm matches no datapoint)")
    period = ctx.clock.seconds("alarm_period")
    if float(alarm.get("Period", 0)) != period:
        problems.append(f"period {period:g} s (found {alarm.get('Period')} s)")
    evaluations = int(alarm.get("EvaluationPeriods", 0))
    points = alarm.get("DatapointsToAlarm")
    if evaluations != 1 or points not in (None, 1):
        problems.append(f"one evaluation period (found EvaluationPeriods {evaluations}"
                        + (f", DatapointsToAlarm {points}" if points is not None else "")
                        + f": it would wait {evaluations * period:g} s)")
    op = str(alarm.get("ComparisonOperator"))
    threshold = alarm.get("Threshold")
    rule = f"{op} {threshold:g}" if isinstance(threshold, int | float) else op
    if high:
        limit = _per_consumer(ctx)
        if not op.startswith("Greater"):
            problems.append(f"in ALARM when the backlog is HIGH: a GreaterThan... comparison "
                            f"(found {op})")
        elif _in_alarm(alarm, limit + 1) is not True or _in_alarm(alarm, limit - 1) is not False:
            problems.append(
                f"in ALARM as soon as more jobs wait than one consumer clears within the "
                f"latency target ({limit:g}: {ctx.clock.seconds('acceptable_latency'):g} s / "
                f"{ctx.clock.seconds('processing_time'):g} s per job), so OK at {limit - 1:g} "
                f"and in ALARM at {limit + 1:g} jobs (found {rule}"
                + (": a single consumer would already be late" if _in_alarm(alarm, limit + 1)
                   is False else ": it fires while one consumer still keeps up") + ")")
    elif not op.startswith("Less"):
        problems.append(f"in ALARM when the backlog is LOW: a LessThan... comparison "
                        f"(found {op})")
    elif _in_alarm(alarm, 0) is not True or _in_alarm(alarm, LOW_MOST + 1) is not False:
        problems.append(f"in ALARM when the backlog is almost gone: with no job waiting, and "
                        f"not above {LOW_MOST} jobs (found {rule})")
    return problems


# --- step 1: the queue -----------------------------------------------------------------


# --- step 2: the backlog alarm ---------------------------------------------------------


def _alarm_evidence(alarm: dict[str, Any]) -> dict[str, Any]:
    return {k: alarm.get(k) for k in ("Namespace", "MetricName", "Dimensions", "Period",
                                      "Statistic", "ExtendedStatistic", "Unit",
                                      "ComparisonOperator", "Threshold", "EvaluationPeriods",
                                      "DatapointsToAlarm", "StateValue")}


@check
def high_alarm(ctx: CheckContext) -> Outcome:
    name = ctx.name("backlog-high")
    alarm = _alarm(ctx, "backlog-high")
    if alarm is None:
        return failed(f"the alarm `{name}` to exist", "no such alarm")
    problems = _alarm_problems(ctx, alarm, high=True)
    evidence = _alarm_evidence(alarm)
    dims = ",".join(f"{d['Name']}={d['Value']}" for d in alarm.get("Dimensions", [])) or "none"
    found = (f"{alarm.get('Namespace')} {alarm.get('MetricName')} (dimensions {dims}), "
             f"{alarm.get('Statistic') or alarm.get('ExtendedStatistic')} over "
             f"{alarm.get('EvaluationPeriods')} x {alarm.get('Period')} s, "
             f"{alarm.get('ComparisonOperator')} {alarm.get('Threshold')}")
    if not problems:
        return passed("", f"`{name}`: {found}", alarm=evidence)
    return partial(1 - len(problems) / 8, f"`{name}` to have " + "; ".join(problems), found,
                   alarm=evidence)


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
    per_consumer = _per_consumer(ctx)
    needed = math.ceil(BURST / per_consumer)
    problems = []
    if policy.min_consumers != 1:
        problems.append(f"min_consumers 1 (found {policy.min_consumers}: one consumer serves "
                        "the quiet hours, every extra one runs — and costs — all day)")
    if policy.max_consumers < needed:
        problems.append(f"max_consumers {needed} (found {policy.max_consumers}: a burst of "
                        f"{BURST} jobs at {per_consumer:g} per consumer within the latency "
                        f"target needs {needed})")
    if policy.max_consumers > MAX_ALLOWED:
        problems.append(f"max_consumers at most {MAX_ALLOWED} (found {policy.max_consumers}: "
                        "more than the downstream service takes)")
    found = f"min {policy.min_consumers}, max {policy.max_consumers}"
    return partial(1 - len(problems) / 3, " and ".join(problems) or "", found,
                   min_consumers=policy.min_consumers, max_consumers=policy.max_consumers)


@check
def policy_target(ctx: CheckContext) -> Outcome:
    policy = _policy(ctx)
    latency = ctx.clock.seconds("acceptable_latency")
    work = ctx.clock.seconds("processing_time")
    best = _per_consumer(ctx)
    if policy.kind == "target_tracking":
        target = policy.target_value
        expected = (f"a target of {best / 2:g} to {best:g} jobs per consumer (acceptable "
                    f"latency {latency:g} s / {work:g} s per job = {best:g}; lower only "
                    "scales out sooner)")
        if target > best:
            return partial(best / target, expected,
                           f"{target:g}: the last job of a consumer's share would wait "
                           f"{target * work:g} s, more than the {latency:g} s allowed",
                           target_value=target)
        if target < best / 2:
            return partial(0.5, expected,
                           f"{target:g}: the fleet would run "
                           f"{min(MAX_ALLOWED, math.ceil(best / target))} consumers for a "
                           f"backlog one consumer clears in time", target_value=target)
        return passed(expected, f"target {target:g} jobs per consumer "
                      f"(the last one waits about {target * work:g} s)", target_value=target)
    # Step scaling: the alarms it names follow the rules of step 2, and the steps add
    # more consumers for a bigger breach.
    problems: list[str] = []
    for name, high in ((policy.out_alarm, True), (policy.in_alarm, False)):
        alarm = _alarm(ctx, name)
        if alarm is None:
            problems.append(f"the alarm `{name}` to exist (scaling.yaml names it)")
            continue
        problems += [f"`{name}`: {p}" for p in _alarm_problems(ctx, alarm, high=high)]
    steps = sorted(policy.out_steps, key=lambda st: st.lower)
    burst_breach = BURST - best
    small = steps[0].change
    big = next((st.change for st in reversed(steps) if burst_breach >= st.lower), small)
    if len(steps) < 2 or big <= small:
        problems.append(f"more consumers for a bigger breach: a breach of {burst_breach:g} "
                        f"(the burst) adds {big}, a small one adds {small} — use at least two "
                        "steps")
    found = (f"step scaling: `{policy.out_alarm}` adds +{small} to +{big}, "
             f"`{policy.in_alarm}` removes {abs(policy.in_change)}")
    if not problems:
        return passed("", found + " (scale-out and scale-in alarms on the backlog, larger "
                      "steps for larger breaches)")
    return partial(max(0.0, 1 - len(problems) / 6), "; ".join(problems), found,
                   policy="step_scaling")


@check
def policy_cooldowns(ctx: CheckContext) -> Outcome:
    policy = _policy(ctx)
    period = ctx.clock.seconds("metric_period")
    most = 2 * ctx.clock.seconds("scale_in_cooldown")
    problems = []
    if policy.scale_out_cooldown > period:
        problems.append(f"scale_out_cooldown 0 to {period:g} s (found "
                        f"{policy.scale_out_cooldown:g} s: scale out fast, at least once per "
                        "metric datapoint)")
    if policy.scale_in_cooldown < period:
        problems.append(f"scale_in_cooldown at least the metric period {period:g} s (found "
                        f"{policy.scale_in_cooldown:g} s: two scale-ins would act on one "
                        "datapoint)")
    elif policy.scale_in_cooldown > most:
        problems.append(f"scale_in_cooldown at most {most:g} s (found "
                        f"{policy.scale_in_cooldown:g} s — the lab runs on a compressed "
                        f"clock: {ctx.clock.explain('scale_in_cooldown')})")
    if policy.scale_out_cooldown > policy.scale_in_cooldown:
        problems.append("scale_out_cooldown <= scale_in_cooldown (scale out fast, in slowly)")
    return partial(1 - len(problems) / 3, " and ".join(problems) or "",
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


def _settle_budget(ctx: CheckContext, policy: Any) -> tuple[float, str]:
    """Seconds from the burst to a drained queue and a fleet back at its minimum, from the
    learner's own policy: reaction, drain on the full fleet, metric lag, the scale-ins."""
    work = BURST * ctx.clock.seconds("processing_time") / max(1, policy.max_consumers)
    if policy.kind == "step_scaling":
        scale_ins = math.ceil((policy.max_consumers - policy.min_consumers)
                              / max(1, abs(policy.in_change)))
        sticky = 3 * ctx.clock.seconds("alarm_period")  # LocalStack keeps ALARM that long
    else:
        scale_ins, sticky = policy.max_consumers - policy.min_consumers, 0.0
    seconds = (ctx.clock.seconds("scale_out_reaction") + work
               + 2 * ctx.clock.seconds("metric_period") + sticky
               + scale_ins * policy.scale_in_cooldown + 10)
    because = (f"{BURST} jobs on {policy.max_consumers} consumers, then up to {scale_ins} "
               f"scale-in(s) x scale_in_cooldown {policy.scale_in_cooldown:g} s"
               + (" after the high alarm leaves ALARM" if sticky else ""))
    return seconds, because


@scenario(timeout=85)
def burst_run(ctx: CheckContext) -> dict[str, Any]:
    """Start the scaler, send a burst, wait for the drain and the scale-in, stop it."""
    url = ctx.queue_url("jobs")
    if url is None:
        raise ScenarioFailed(f"the queue `{ctx.name('jobs')}` does not exist",
                             fix="run `python infra.py` (step 1)")
    _intact(ctx)
    policy = _policy(ctx)
    ctx.clear(url)  # in-flight messages of an earlier run too: they would come back
    (ctx.workspace / LEDGER).unlink(missing_ok=True)
    (ctx.workspace / LOG).unlink(missing_ok=True)  # an earlier run's ticks are not this one's
    run = uuid.uuid4().hex[:8]
    period = ctx.clock.seconds("metric_period")
    settle, because = _settle_budget(ctx, policy)
    first = 2 * period + 6  # until the scaler sees the metric
    overhead = 30 + first + STOP_WAIT + 5
    wait = max(10.0, ctx.budget(settle + overhead, because, most=160) - overhead)
    began = time.time()
    duration = first + QUIET_WAIT + wait + 20  # the scaler outlives every wait below
    scaler = ctx.runner.start("scaler.py", "--duration", f"{duration:.0f}", "--log", LOG,
                              measure=False)

    alarm = ctx.name("backlog-high")

    def ready() -> bool:
        ticks = _ticks(ctx)
        return bool(ticks) and ticks[-1]["visible"] is not None \
            and ticks[-1]["consumers"] >= policy.min_consumers

    def quiet() -> bool:
        """The queue empty in the metric, the fleet at its minimum, the high alarm not in
        ALARM: nothing left over from an earlier run (LocalStack keeps an alarm in ALARM
        for about 30 s after the backlog is gone)."""
        tick = _ticks(ctx)[-1]
        return tick["visible"] == 0 and tick["consumers"] == policy.min_consumers \
            and tick["alarms"].get(alarm) != "ALARM"

    # The scaler's own start (Python, boto3, psutil) takes seconds on a busy machine: the
    # metric's time runs from its first log line.
    if not ctx.runner.wait_until(lambda: bool(_read_jsonl(ctx.workspace / LOG))
                                 or not scaler.alive, timeout=30, interval=0.3):
        raise ScenarioFailed("`scaler.py` did not start within 30 s", scaler.output())
    if not scaler.alive:
        raise ScenarioFailed("`scaler.py` stopped at once", scaler.output(),
                             fix="run `python scaler.py` yourself to see why")
    if not ctx.runner.wait_until(ready, timeout=first, interval=0.3):
        raise ScenarioFailed(
            f"the scaler saw no {METRIC} datapoint for `{ctx.name('jobs')}` within "
            f"{first:g} s", scaler.output(),
            fix="this lab needs SQS metrics every 5 s: start LocalStack with "
            "SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL=5 (`tutor localstack up` does; "
            "LocalStack's default is 60 s)")
    ctx.budget(wait + overhead + QUIET_WAIT, because + f", after up to {QUIET_WAIT:g} s for "
               "the queue and the alarm to settle from an earlier run", most=175)
    baseline = ctx.runner.wait_until(quiet, timeout=QUIET_WAIT, interval=0.5)
    before = _ticks(ctx)[-1]
    burst_at = time.time()
    sent = ctx.runner.burst(url, BURST, body=lambda i: json.dumps({"run": run, "seq": i}))
    bound = ctx.clock.seconds("age_bound")
    early: dict[str, str] = {}

    def mine() -> list[dict[str, Any]]:
        return [r for r in _read_jsonl(ctx.workspace / LEDGER) if f'"run": "{run}"' in r["body"]]

    def settled() -> bool:
        ticks = _ticks(ctx)
        done = {r["id"] for r in mine()}
        if len(done) < sent.sent and time.time() - burst_at - sent.seconds > bound:
            # Jobs of the burst already waited longer than the age bound: the run fails
            # whatever happens next, so stop here instead of waiting for the drain.
            early["why"] = (f"{sent.sent - len(done)} jobs were still waiting {bound:g} s "
                            "after the burst")
            return True
        return len(done) >= sent.sent and bool(ticks) \
            and ticks[-1]["consumers"] <= policy.min_consumers

    settled_ok = ctx.runner.wait_until(settled, timeout=wait, interval=0.5) and not early
    # A fast fleet can settle before CloudWatch evaluates the alarm (every alarm period,
    # on datapoints up to one metric period old): give it that long after the burst.
    alarm_due = burst_at + ctx.clock.seconds("alarm_period") + period + 3

    def alarm_seen() -> bool:
        states = [t["alarms"].get(alarm) for t in _ticks(ctx) if t["ts"] >= burst_at]
        return "ALARM" in states or not any(states) or time.time() > alarm_due

    ctx.runner.wait_until(alarm_seen, timeout=max(0.0, alarm_due - time.time()))
    ended = time.time()
    scaler.stop(grace=STOP_WAIT)
    log = _read_jsonl(ctx.workspace / LOG)
    orphans = _orphans(log, scaler.leftovers())
    left = sum(ctx.message_counts(url))  # still queued: late, not lost
    records = mine()
    ages = sorted(r["done"] - r["sent"] for r in records)
    ids = [r["id"] for r in records]
    return {
        "run": run, "burst_at": burst_at, "ended": ended, "settled": settled_ok,
        "stopped_early": early.get("why", ""), "waited": round(wait, 1),
        "baseline": baseline, "before_burst": {k: before.get(k) for k in
                                               ("visible", "consumers", "alarms")},
        "budget": f"{wait:.0f} s, from {because}", "left_in_queue": left,
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
QUIET_WAIT = 40.0  # at most, for leftovers of an earlier run to settle before the burst


def _orphans(log: list[dict[str, Any]], leftovers: list[dict[str, Any]] | None) -> list[int]:
    """Consumers the scaler started that still run after it stopped (killed here; in a
    sandbox, `leftovers` lists them, and they died with it)."""
    import os
    import signal

    import psutil

    started = {e["pid"] for e in log if e.get("event") == "consumer_start"}
    if leftovers is not None:
        return [p["pid"] for p in leftovers if p["pid"] in started and "worker.py" in
                p["cmdline"]]
    left = []
    for pid in started:
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
    outs = [e for e in scales if e["to"] > e["from"] and e["from"] > 0]
    expected = (f"the fleet back at min_consumers {low} after the drain, each scale-in at "
                f"least {cooldown:g} s after the previous scaling activity")
    if not ticks or not ins:
        if not outs:
            why = "no scale-in: the fleet never scaled out"
        elif run["stopped_early"]:
            why = (f"no scale-in: the tutor stopped the run when {run['stopped_early']} "
                   "(see age-bound)")
        else:
            why = f"no scale-in within the {run['budget']}"
        return failed(expected, why, scaling=_relative(run))
    early = []
    for e in ins:
        before = [s for s in scales if s["ts"] < e["ts"] and s["from"] > 0]
        if before and e["ts"] - before[-1]["ts"] < cooldown - 0.5:
            early.append(round(e["ts"] - before[-1]["ts"], 1))
    below = min(t["consumers"] for t in ticks if t["ts"] >= ins[0]["ts"])
    final = ticks[-1]["consumers"]
    problems = []
    if final != low:
        problems.append(f"{final} consumers at the end" + (
            f" (the tutor stopped the run when {run['stopped_early']})"
            if run["stopped_early"] else f", after the {run['budget']}"))
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
        waited = run["ended"] - run["burst_at"]
        return failed(expected, f"{missing} of {run['sent']} jobs still unprocessed "
                      f"{waited:.0f} s after the burst (the oldest processed one waited "
                      f"{run['max_age']:.1f} s): the fleet was too small or grew too late "
                      "— look at max_consumers, the target and the scale-out cooldown",
                      max_age=run["max_age"], scaling=_relative(run))
    found = f"the oldest waited {run['max_age']:.1f} s (median {run['p50_age']:.1f} s)"
    if run["max_age"] <= bound:
        return passed(expected, found, max_age=run["max_age"], p50_age=run["p50_age"])
    return partial(bound / run["max_age"], expected, found, max_age=run["max_age"])


@check
def nothing_lost(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("burst_run")
    expected = f"all {run['sent']} jobs of the burst processed or still in the queue"
    if run["sent"] == 0:
        return failed(expected, "the burst could not be sent")
    left = run["left_in_queue"]
    lost = run["sent"] - run["processed"] - left
    found = (f"{run['processed']} processed ({run['duplicates']} twice)"
             + (f", {left} still in the queue when the tutor stopped the run" if left else ""))
    if lost > 0:
        return partial(1 - lost / run["sent"], expected, f"{found}: {lost} missing",
                       duplicates=run["duplicates"])
    return passed(expected, found, duplicates=run["duplicates"])


@check
def alarm_fired(ctx: CheckContext) -> Outcome:
    run = ctx.scenario("burst_run")
    name = ctx.name("backlog-high")
    states = [(t["ts"], t["alarms"].get(name)) for t in _after_burst(run)]
    expected = f"`{name}` in ALARM during the burst"
    if not any(s is not None for _, s in states):
        return failed(expected, "no such alarm")
    before = run.get("before_burst", {})
    if before.get("alarms", {}).get(name) == "ALARM":
        return failed(expected, f"ALARM already before the burst, {QUIET_WAIT:g} s after the "
                      f"scaler started, with a backlog of {before.get('visible')}: an alarm "
                      "an idle queue sets off (a threshold too low, TreatMissingData="
                      "breaching?) says nothing about a backlog")
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
