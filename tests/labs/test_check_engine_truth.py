"""The engine parts that keep checks honest, without LocalStack: budgets, slow answers,
lab.yaml faults and the corpus format."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from tutor.engine.labs.checks import CheckContext, Deadline, percentile
from tutor.engine.labs.clock import LabClock
from tutor.engine.labs.faults import Fault, from_spec
from tutor.errors import LocalStackSlow, LocalStackUnreachable, from_boto

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "labs" / "engine"


def _ctx() -> CheckContext:
    from tutor.cloud.endpoint import Endpoint
    from tutor.engine.labs.scenario import ScenarioRunner

    endpoint = Endpoint("http://127.0.0.1:9", "test")
    return CheckContext("04-x", "lab04-", endpoint, Path("."), LabClock({}),
                        ScenarioRunner("04-x", "lab04-", endpoint, Path(".")))


def test_a_budget_extends_the_scenario_deadline_and_says_why() -> None:
    ctx = _ctx()
    ctx.deadline = Deadline(10.0)
    granted = ctx.budget(60.0, "maxReceiveCount 5 x visibility timeout 10 s")
    assert granted == 60.0
    assert ctx.deadline.left() > 65.0
    assert "maxReceiveCount 5 x visibility timeout 10 s" in ctx.budget_note()


def test_a_budget_is_bounded() -> None:
    ctx = _ctx()
    ctx.deadline = Deadline(10.0, cap=40.0)
    granted = ctx.budget(500.0, "retention 4 days", most=100.0)
    assert granted <= 40.0  # the deadline's cap wins over the asked-for budget
    assert ctx.budgets[0].capped
    assert "the most the tutor waits" in ctx.budget_note()
    assert ctx.deadline.at <= ctx.deadline.limit <= time.monotonic() + 40.1


def _slow_start(tmp_path: Path) -> tuple[CheckContext, Path]:
    """A context whose workspace holds `late.py`: 6 s of start-up (no AWS call), then it
    writes `done` and exits, as a restart on a loaded machine does its work late."""
    from tutor.cloud.endpoint import Endpoint
    from tutor.engine.labs.scenario import ScenarioRunner

    (tmp_path / "late.py").write_text("import pathlib, time\ntime.sleep(6)\n"
                                      "pathlib.Path('done').write_text('1')\n")
    endpoint = Endpoint("http://127.0.0.1:9", "test")
    ctx = CheckContext("04-x", "lab04-", endpoint, tmp_path, LabClock({}),
                       ScenarioRunner("04-x", "lab04-", endpoint, tmp_path))
    return ctx, tmp_path / "done"


def test_a_program_still_starting_is_not_a_stall(tmp_path: Path) -> None:
    ctx, done = _slow_start(tmp_path)
    program = ctx.runner.start("late.py")
    try:
        assert program.starting  # alive, no AWS call yet
        assert ctx.wait_progressing(done.exists, 0.5, lambda: 0, what="late.py's work",
                                    grace=1.0, most=20.0, programs=(program,))
        assert "late.py's work still progressing" in ctx.budget_note()
    finally:
        program.stop()
    assert not program.starting  # not running: not starting either


def test_a_stall_is_judged_at_its_budget_plus_the_grace(tmp_path: Path) -> None:
    ctx, done = _slow_start(tmp_path)
    program = ctx.runner.start("late.py")
    try:
        # The same program, not named as one that may still be starting: nothing changes
        # in the fingerprint, so the tutor stops waiting after the budget and the grace.
        assert not ctx.wait_progressing(done.exists, 0.5, lambda: 0, what="late.py's work",
                                        grace=1.0, most=20.0)
        assert program.alive  # judged while it was still starting: 0.5 s + 1 s of grace
    finally:
        program.stop()


def test_one_stall_of_the_machine_does_not_decide_a_p95(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _ctx()
    monkeypatch.setattr(ctx, "api_rtt", lambda: 0.02)
    stalled = [0.1] * 18 + [1.6, 1.5]  # CI's loaded machine: two answers of 20 stalled
    rounds = iter([[0.1] * 17 + [1.4] * 3, [0.12] * 20])
    best, rtt, taken = ctx.timed_rounds(stalled, lambda: next(rounds), lambda rtt: 0.4 + 3 * rtt)
    assert percentile(best, 0.95) == 0.12 and taken == 3 and rtt == 0.02


def test_a_request_path_that_waits_is_slow_in_every_round(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _ctx()
    monkeypatch.setattr(ctx, "api_rtt", lambda: 0.02)
    again = []
    best, _, taken = ctx.timed_rounds([1.05] * 10, lambda: again.append(1) or [1.02] * 10,
                                      lambda rtt: 0.4 + 3 * rtt)
    assert taken == 3 and len(again) == 2 and percentile(best, 0.95) == 1.02
    # Under budget at once: no round more.
    _, _, taken = ctx.timed_rounds([0.1] * 10, lambda: pytest.fail("timed again"),
                                   lambda rtt: 0.4)
    assert taken == 1


def test_a_slow_answer_is_not_a_lost_localstack() -> None:
    slow = from_boto(ReadTimeoutError(endpoint_url="http://127.0.0.1:4566"),
                     "http://127.0.0.1:4566")
    assert isinstance(slow, LocalStackSlow) and not isinstance(slow, LocalStackUnreachable)
    gone = from_boto(EndpointConnectionError(endpoint_url="http://127.0.0.1:4566"))
    assert isinstance(gone, LocalStackUnreachable)


def test_faults_from_lab_yaml_form() -> None:
    fault = from_spec({"kind": "kill", "op": "DeleteMessageBatch", "nth": [2, 3]})
    assert fault == Fault("kill", op="DeleteMessageBatch", nth=(2, 3))
    assert "crashed the program (SIGKILL) after its second and third `DeleteMessageBatch`" \
        in fault.describe()


def _lab(tmp_path: Path, extra: str = "") -> Path:
    import shutil

    target = tmp_path / "engine"
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("__pycache__"))
    if extra:
        with (target / "lab.yaml").open("a") as handle:
            handle.write(extra)
    return target


def test_lab_yaml_faults_are_validated_and_reach_the_runner(tmp_path: Path) -> None:
    from tutor.engine.labs.loader import LabContentError, load_lab

    good = _lab(tmp_path / "a", "faults:\n  failing_program:\n"
                "    - {kind: kill, op: DeleteMessage, nth: [2]}\n")
    lab = load_lab(good)
    assert lab.faults("failing_program") == [Fault("kill", op="DeleteMessage", nth=(2,))]
    assert lab.faults("other") == []
    bad = _lab(tmp_path / "b", "faults:\n  failing_progrm:\n    - {kind: kill}\n")
    with pytest.raises(LabContentError) as caught:
        load_lab(bad)
    text = "\n".join(caught.value.problems)
    assert "needs `op`" in text
    typo = _lab(tmp_path / "c", "faults:\n  failing_progrm: []\n")
    with pytest.raises(LabContentError) as caught:
        load_lab(typo)
    assert "did you mean `failing_program`" in "\n".join(caught.value.problems)


def test_corpus_cases_are_validated(tmp_path: Path) -> None:
    from tutor.engine.labs.corpus import load_cases
    from tutor.engine.labs.loader import load_lab

    root = _lab(tmp_path)
    cases = root / "mistakes"
    for name, text in {
        "ok": "kind: variant\nstep: broken-scenario\ntitle: fine\n",
        "no-words": "kind: mistake\nstep: broken-scenario\ntitle: x\n",
        "bad-step": "kind: variant\nstep: broken-scenari\ntitle: x\n",
        "bad-check": "kind: mistake\nstep: broken-scenario\ntitle: x\n"
                     "expect: {check: nope, words: [a]}\n",
        "missing-file": "kind: variant\nstep: broken-scenario\ntitle: x\nfiles: [worker.py]\n",
        "unknown-field": "kind: variant\nstep: broken-scenario\ntitle: x\nwords: [a]\n",
    }.items():
        (cases / name).mkdir(parents=True)
        (cases / name / "case.yaml").write_text(text)
    found, problems = load_cases(load_lab(root))
    assert [c.id for c in found] == ["ok"]
    joined = "\n".join(problems)
    assert "expect.words" in joined and "unknown step `broken-scenari`" in joined
    assert "no check `nope`" in joined and "worker.py is not in" in joined
    assert "words" in joined and len(problems) == 5


def test_connections_of_a_killed_process_count_as_closed_when_it_died(tmp_path: Path) -> None:
    import json
    import subprocess

    from tutor.engine.labs.scenario import OutputTail, Program

    measure = tmp_path / "m.jsonl"
    events = [  # pid 1 opens 2 and is SIGKILLed; pid 2 (its restart) opens 2 later
        {"kind": "db_open", "id": 1, "pid": 1, "t": 1.0},
        {"kind": "db_open", "id": 2, "pid": 1, "t": 1.1},
        {"kind": "api", "op": "ReceiveMessage", "pid": 1, "t": 2.0},
        {"kind": "db_open", "id": 1, "pid": 2, "t": 3.0},
        {"kind": "db_open", "id": 2, "pid": 2, "t": 3.1},
        {"kind": "db_close", "id": 2, "pid": 2, "t": 3.2},
    ]
    measure.write_text("\n".join(json.dumps(e) for e in events))
    proc = subprocess.Popen(["true"], stdout=subprocess.PIPE)
    proc.wait()
    program = Program("w.py", proc, OutputTail(proc.stdout), measure, 0.0)
    assert program.max_open_connections() == 2  # not 4: pid 1's died with it
