"""Lab 07's scaler decisions and checks on recorded runs (pure: no LocalStack needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.checks import CheckContext
from tutor.engine.labs.loader import load_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "07-queue-depth-scaling"


@pytest.fixture(scope="module")
def lab():  # type: ignore[no-untyped-def]
    return load_lab(LAB)


@pytest.fixture(scope="module")
def checks(lab):  # type: ignore[no-untyped-def]
    import sys

    return sys.modules[lab.checks["scaled_out"].fn.__module__]


@pytest.fixture(scope="module")
def scaler(checks):  # type: ignore[no-untyped-def]
    return checks.scaler_module()


def _policy(scaler, tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "scaling.yaml"
    path.write_text(text)
    return scaler.load_policy(path)


TT = """min_consumers: 1
max_consumers: 4
scale_out_cooldown: 2
scale_in_cooldown: 10
target_tracking: {target_value: 200}
"""

SS = """min_consumers: 1
max_consumers: 4
scale_out_cooldown: 2
scale_in_cooldown: 5
step_scaling:
  scale_out:
    alarm: lab07-backlog-high
    steps:
      - {lower: 0, upper: 200, change: 1}
      - {lower: 200, upper: null, change: 3}
  scale_in: {alarm: lab07-backlog-low, change: -1}
"""


def _obs(scaler, visible, running, now=100.0, out=0.0, into=0.0, alarms=None):  # type: ignore[no-untyped-def]
    return scaler.Observation(now, visible, running, alarms or {}, out, into)


def test_target_tracking_arithmetic(scaler, tmp_path: Path) -> None:
    policy = _policy(scaler, tmp_path, TT)
    assert scaler.decide(policy, _obs(scaler, 800.0, 1)).desired == 4
    assert scaler.decide(policy, _obs(scaler, 401.0, 1)).desired == 3
    assert scaler.decide(policy, _obs(scaler, 5000.0, 1)).desired == 4  # clamped to max
    assert scaler.decide(policy, _obs(scaler, 0.0, 4)).desired == 1  # never below min
    assert scaler.decide(policy, _obs(scaler, None, 2)).desired == 2  # no data: hold


def test_cooldowns_hold_changes(scaler, tmp_path: Path) -> None:
    policy = _policy(scaler, tmp_path, TT)
    held = scaler.decide(policy, _obs(scaler, 0.0, 4, now=105.0, out=100.0))
    assert held.desired == 4 and held.blocked == "scale-in cooldown"
    assert scaler.decide(policy, _obs(scaler, 0.0, 4, now=111.0, out=100.0)).desired == 1
    held = scaler.decide(policy, _obs(scaler, 800.0, 2, now=101.0, out=100.0))
    assert held.desired == 2 and held.blocked == "scale-out cooldown"


def test_step_scaling_uses_the_breach_and_prefers_scale_out(scaler, tmp_path: Path) -> None:
    policy = _policy(scaler, tmp_path, SS)
    high = {"state": "ALARM", "threshold": 200.0}
    low_ok = {"state": "OK", "threshold": 10.0}
    both = {"lab07-backlog-high": high, "lab07-backlog-low": {"state": "ALARM"}}
    assert scaler.decide(policy, _obs(scaler, 300.0, 1, alarms={
        "lab07-backlog-high": high, "lab07-backlog-low": low_ok})).desired == 2
    assert scaler.decide(policy, _obs(scaler, 800.0, 1, alarms=both)).desired == 4
    # ALARM still shown, backlog already gone: no step applies, nothing changes.
    assert scaler.decide(policy, _obs(scaler, 0.0, 3, alarms=both)).desired == 3
    only_low = {"lab07-backlog-high": {"state": "OK", "threshold": 200.0},
                "lab07-backlog-low": {"state": "ALARM"}}
    assert scaler.decide(policy, _obs(scaler, 0.0, 3, alarms=only_low)).desired == 2


@pytest.mark.parametrize(("text", "words"), [
    (TT.replace("max_consumers: 4", "max_consumers: 0"), "min_consumers <= max_consumers"),
    (TT.replace("max_consumers: 4", "max_consumers: 40"), "more than this machine"),
    (TT + "step_scaling:" + SS.split("step_scaling:")[1], "exactly one"),
    (TT.split("target_tracking")[0], "exactly one"),
    (SS.replace("upper: 200", "upper: 150"), "gaps"),
    (SS.replace("change: -1", "change: 1"), "< 0"),
    (SS.replace("alarm: lab07-backlog-high", "alarm: backlog-high"), "lab07-"),
    (TT.replace("target_value: 200", "target_value: null"), "must be a number"),
    ("- just a list\n", "mapping"),
])
def test_policy_errors_say_what_to_fix(scaler, tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(scaler.PolicyError, match=words):
        _policy(scaler, tmp_path, text)


def test_starter_policy_is_refused_and_solution_accepted(scaler) -> None:
    with pytest.raises(scaler.PolicyError):
        scaler.load_policy(LAB / "starter" / "scaling.yaml")
    assert scaler.load_policy(LAB / "solution" / "scaling.yaml").target_value == 200


# --- the burst checks on recorded runs ---------------------------------------------------


def _ctx(lab, run: dict[str, Any], tmp_path: Path) -> CheckContext:  # type: ignore[no-untyped-def]
    ctx = CheckContext(lab.id, lab.prefix, Endpoint("http://127.0.0.1:9", "test"), tmp_path,
                       lab.clock, None)  # type: ignore[arg-type]
    ctx.results["burst_run"] = run
    return ctx


def _run(counts: list[tuple[float, int]], scales: list[tuple[float, int, int]],
         ages: tuple[float, float] = (12.0, 6.0), processed: int = 800) -> dict[str, Any]:
    log: list[dict[str, Any]] = [{"ts": 1000 + t, "event": "scale", "from": a, "to": b,
                                  "reason": "r"} for t, a, b in scales]
    log += [{"ts": 1000 + t, "event": "tick", "visible": 100.0, "consumers": n, "cpu": 2.0 * n,
             "alarms": {"lab07-backlog-high": "ALARM"}} for t, n in counts]
    log.sort(key=lambda e: e["ts"])
    return {"burst_at": 1000.0, "ended": 1045.0, "log": log, "settled": True, "sent": 800,
            "processed": processed, "duplicates": 0, "max_age": ages[0], "p50_age": ages[1],
            "stopped_early": "", "budget": "60 s, from a test", "left_in_queue": 0,
            "policy": {"min_consumers": 1, "scale_in_cooldown": 10.0}, "metric_interval": 5.0}


def test_a_fleet_that_never_grows_fails(lab, checks, tmp_path: Path) -> None:
    run = _run([(t, 1) for t in range(0, 40)], [(-1, 0, 1)], ages=(40.5, 20.0))
    ctx = _ctx(lab, run, tmp_path)
    assert checks.scaled_out(ctx).fraction == 0
    assert checks.scaled_in(ctx).fraction == 0
    outcome = checks.age_bound(ctx)
    assert 0 < outcome.fraction < 1 and "40.5" in outcome.found


def test_a_good_run_passes_and_an_early_scale_in_is_caught(lab, checks, tmp_path: Path) -> None:
    good = _run([(1, 1), (3, 4), (10, 4), (15, 1)], [(-1, 0, 1), (3, 1, 4), (15, 4, 1)])
    ctx = _ctx(lab, good, tmp_path)
    assert checks.scaled_out(ctx).passed and checks.scaled_in(ctx).passed
    assert checks.age_bound(ctx).passed and checks.nothing_lost(ctx).passed
    hasty = _run([(1, 1), (3, 4), (5, 1)], [(-1, 0, 1), (3, 1, 4), (5, 4, 1)])
    outcome = checks.scaled_in(_ctx(lab, hasty, tmp_path))
    assert not outcome.passed and "after the previous activity" in outcome.found


def test_more_live_consumers_than_allowed_fails(lab, checks, tmp_path: Path) -> None:
    run = _run([(1, 5)], [])
    run["log"] = [{"ts": 1000.0 + i, "event": "consumer_start", "pid": 100 + i}
                  for i in range(5)]
    outcome = checks.max_respected(_ctx(lab, run, tmp_path))
    assert not outcome.passed and "5" in outcome.found


def test_the_lab_clock_matches_the_embedded_localstack(lab) -> None:  # type: ignore[no-untyped-def]
    """The checks expect metrics every metric_period s: what the tutor starts LocalStack with."""
    from tutor.cloud.embedded import METRICS_INTERVAL

    assert lab.clock.seconds("metric_period") == METRICS_INTERVAL
