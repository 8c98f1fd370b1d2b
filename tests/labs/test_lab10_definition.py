"""Lab 10's reading of a state machine definition, checked without LocalStack."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

from tutor.engine.labs.loader import load_lab

LABS = Path(__file__).resolve().parents[2] / "labs"


def _checks(folder: str) -> ModuleType:
    lab = load_lab(LABS / folder)
    return sys.modules["tutor_lab_checks_" + lab.id.replace("-", "_")]


def test_reference_definition_is_recognised() -> None:
    lab10 = _checks("10-step-functions-wait")
    text = (LABS / "10-step-functions-wait" / "solution" / "workflow.asl.json").read_text()
    for placeholder, queue in (("${TasksQueueUrl}", "tasks"),
                               ("${RejectionsQueueUrl}", "rejections")):
        text = text.replace(placeholder, f"http://127.0.0.1:1/000000000000/lab10-{queue}")
    definition = json.loads(text)
    name, state = lab10._token_task(definition)
    assert name == "PackOrder"
    assert any("$$.Task.Token" in s for s in lab10._strings(state["Parameters"]))
    assert lab10._reaches(definition, "NotifyRejection", "notify")
    assert lab10._reaches(definition, "NotifyRejection", "fail")


def test_starter_definition_does_not_wait() -> None:
    lab10 = _checks("10-step-functions-wait")
    definition = json.loads((LABS / "10-step-functions-wait" / "starter" /
                             "workflow.asl.json").read_text())
    assert lab10._token_task(definition) is None


def test_token_task_found_inside_a_parallel_branch() -> None:
    lab10 = _checks("10-step-functions-wait")
    inner = {"Type": "Task", "End": True,
             "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
             "Parameters": {"QueueUrl": "u", "MessageBody.$":
                            "States.JsonToString($$.Task.Token)"}}
    definition = {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": True,
        "Branches": [{"StartAt": "Wait", "States": {"Wait": inner}}]}}}
    assert lab10._token_task(definition) == ("Wait", inner)


def test_a_fail_state_with_another_error_is_not_the_rejection() -> None:
    lab10 = _checks("10-step-functions-wait")
    definition = {"States": {"Notify": {"Type": "Pass", "Next": "Oops"},
                             "Oops": {"Type": "Fail", "Error": "States.ALL"}}}
    assert not lab10._reaches(definition, "Notify", "fail")



def test_retriers_and_catchers_apply_in_order() -> None:
    lab10 = _checks("10-step-functions-wait")
    busy = {"ErrorEquals": ["Warehouse.Busy"], "MaxAttempts": 3}
    catch_all = {"ErrorEquals": ["States.ALL"]}
    assert lab10._first_match([busy, catch_all], "Warehouse.Busy") == (1, busy)
    assert lab10._first_match([busy, catch_all], "Order.Invalid") == (2, catch_all)
    assert lab10._first_match([catch_all, busy], "Warehouse.Busy") == (1, catch_all)
    assert lab10._first_match([busy], "Order.Invalid") is None


def test_task_failed_matches_every_error_but_a_timeout() -> None:
    lab10 = _checks("10-step-functions-wait")
    failed = {"ErrorEquals": ["States.TaskFailed"]}
    heartbeat = {"ErrorEquals": ["States.HeartbeatTimeout"]}
    assert lab10._first_match([failed], "Order.Invalid") == (1, failed)
    assert lab10._first_match([failed], "States.Timeout") is None
    assert lab10._first_match([failed, heartbeat], "States.Timeout") == (2, heartbeat)


def test_a_redelivery_is_excused_only_for_a_right_design_on_a_stalled_machine() -> None:
    stalled = _checks("10-step-functions-wait")._stalled
    steady = [(100.0 + i, 2) for i in range(9)]  # every second, each for 2 s
    assert stalled(steady) == ""  # nothing stalled: the redelivery is the design's
    held = steady[:5] + [(t + 1.6, vt) for t, vt in steady[5:]]  # one 2.6 s gap
    assert "held your worker 2.6 s" in stalled(held)
    short = [(t, 1) for t, _ in held]  # asks for 1 s at a 1 s pace: not excused
    assert stalled(short) == ""
    every_other = [(100.0 + 2 * i, 2) for i in range(9)]  # a 2 s pace for 2 s of visibility
    assert stalled(every_other[:4] + [(t + 1, 2) for t, _ in every_other[4:]]) == ""
    assert stalled(held[:3]) == ""  # too few extensions to be "at every step"
