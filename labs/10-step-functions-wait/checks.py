"""Checks for lab 10: a Step Functions workflow that waits for an SQS worker (task tokens)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
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

MACHINE = "fulfilment"
ROLE = "sfn-role"
TOKEN_RESOURCE = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
TRACKING_PREFIX = "TRK-"


# --- reading the deployed state machine ------------------------------------------------


def _machine_arn(ctx: CheckContext) -> str | None:
    sfn = ctx.client("stepfunctions")
    token: str | None = None
    for _ in range(20):  # bounded paging
        page = sfn.list_state_machines(**({"nextToken": token} if token else {}))
        for machine in page.get("stateMachines", []):
            if machine["name"] == ctx.name(MACHINE):
                return str(machine["stateMachineArn"])
        token = page.get("nextToken")
        if not token:
            return None
    return None


def _machine(ctx: CheckContext) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the parsed definition or None, DescribeStateMachine's answer)."""
    arn = _machine_arn(ctx)
    if arn is None:
        return None, {}
    info = ctx.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    return json.loads(info["definition"]), dict(info)


def _states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, including those inside Parallel branches and Map iterators."""
    for name, state in (definition.get("States") or {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), dict):
                yield from _states(state[key])


def _token_task(definition: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for name, state in _states(definition):
        if state.get("Type") == "Task" and str(state.get("Resource", "")).endswith(
                ".waitForTaskToken"):
            return name, state
    return None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _no_machine(ctx: CheckContext) -> Outcome:
    return failed(f"a state machine `{ctx.name(MACHINE)}` (deploy it with `python deploy.py`)",
                  "none")


def _no_token_task(ctx: CheckContext, definition: dict[str, Any]) -> Outcome:
    resources = {n: s.get("Resource") for n, s in _states(definition) if s.get("Type") == "Task"}
    return failed(f"a Task state whose Resource is `{TOKEN_RESOURCE}`",
                  f"Task resources {resources or 'none'}", tasks=resources)


def _token_state(ctx: CheckContext) -> tuple[str, dict[str, Any], dict[str, Any]] | Outcome:
    """(name, state, definition) of the task that waits for a token, else the failure."""
    definition, _ = _machine(ctx)
    if definition is None:
        return _no_machine(ctx)
    found = _token_task(definition)
    if found is None:
        return _no_token_task(ctx, definition)
    return (*found, definition)


# --- step 1: queues and role -----------------------------------------------------------


@check
def queues_exist(ctx: CheckContext) -> Outcome:
    names = [ctx.name("tasks"), ctx.name("rejections")]
    present = [n for n in names if ctx.queue_url(n) is not None]
    missing = [n for n in names if n not in present]
    if not missing:
        return passed("both queues", ", ".join(f"`{n}`" for n in present), queues=present)
    return partial(len(present) / len(names), "the queues " + " and ".join(
        f"`{n}`" for n in names), f"{', '.join(missing)} missing", present=present)


def _policy_documents(iam: Any, role: str) -> list[dict[str, Any]]:
    docs: list[Any] = []
    for name in iam.list_role_policies(RoleName=role).get("PolicyNames", []):
        docs.append(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    for attached in iam.list_attached_role_policies(RoleName=role).get("AttachedPolicies", []):
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"],
                                         VersionId=policy["DefaultVersionId"])
        docs.append(version["PolicyVersion"]["Document"])
    return [json.loads(d) if isinstance(d, str) else d for d in docs]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allows_send(doc: dict[str, Any], queue_arn: str) -> bool:
    for statement in _as_list(doc.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a).lower() for a in _as_list(statement.get("Action", []))]
        if not any(a in ("sqs:sendmessage", "sqs:*", "*") for a in actions):
            continue
        for resource in _as_list(statement.get("Resource", [])):
            pattern = str(resource)
            if pattern == queue_arn or pattern == "*" or (
                    pattern.endswith("*") and queue_arn.startswith(pattern[:-1])):
                return True
    return False


@check
def workflow_role(ctx: CheckContext) -> Outcome:
    iam = ctx.client("iam")
    role = ctx.name(ROLE)
    try:
        found = iam.get_role(RoleName=role)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return failed(f"an IAM role `{role}` for the workflow", "none")
    trust = found.get("AssumeRolePolicyDocument", {})
    trust = json.loads(trust) if isinstance(trust, str) else trust
    principals = [str(p) for s in _as_list(trust.get("Statement", []))
                  for p in _as_list((s.get("Principal") or {}).get("Service", []))]
    trusted = "states.amazonaws.com" in principals
    docs = _policy_documents(iam, role)
    queues = [ctx.queue_arn("tasks"), ctx.queue_arn("rejections")]
    allowed = [q for q in queues if any(_allows_send(d, q) for d in docs)]
    score = 0.5 * trusted + 0.25 * len(allowed)
    expected = (f"the role `{role}` trusted by `states.amazonaws.com` and allowed "
                "`sqs:SendMessage` on both queues")
    found_text = (f"a role trusted by {principals or 'no service'}, SendMessage allowed on "
                  f"{[a.rsplit(':', 1)[-1] for a in allowed] or 'no queue'}")
    return partial(score, expected, found_text, trust=trust, policies=docs)


# --- step 2: the state machine definition ----------------------------------------------


@check
def machine_role(ctx: CheckContext) -> Outcome:
    definition, info = _machine(ctx)
    if definition is None:
        return _no_machine(ctx)
    role_arn = str(info.get("roleArn", ""))
    return expect(role_arn.endswith(f":role/{ctx.name(ROLE)}"),
                  f"the state machine to run as the role `{ctx.name(ROLE)}`",
                  f"roleArn `{role_arn}`", role_arn=role_arn)


@check
def waits_for_token(ctx: CheckContext) -> Outcome:
    found = _token_state(ctx)
    if isinstance(found, Outcome):
        return found
    name, state, _ = found
    resource = str(state["Resource"])
    queue = str((state.get("Parameters") or {}).get("QueueUrl", ""))
    right_resource = resource == TOKEN_RESOURCE
    right_queue = queue.rstrip("/").endswith("/" + ctx.name("tasks"))
    return partial(0.6 * right_resource + 0.4 * right_queue,
                   f"the state `{name}` to use `{TOKEN_RESOURCE}` with the QueueUrl of "
                   f"`{ctx.name('tasks')}`", f"Resource `{resource}`, QueueUrl `{queue}`",
                   state=state)


@check
def token_in_message(ctx: CheckContext) -> Outcome:
    found = _token_state(ctx)
    if isinstance(found, Outcome):
        return found
    name, state, _ = found
    params = state.get("Parameters") or {}
    body = params.get("MessageBody", params.get("MessageBody.$"))
    carries = any("$$.Task.Token" in text for text in _strings(body))
    return expect(carries, f"the MessageBody of `{name}` to carry the task token "
                  "(a field whose value is `$$.Task.Token`, its key ending in `.$`)",
                  f"MessageBody {json.dumps(body)}", message_body=body)


@check
def bounded_wait(ctx: CheckContext) -> Outcome:
    found = _token_state(ctx)
    if isinstance(found, Outcome):
        return found
    name, state, _ = found
    limit = ctx.clock.seconds("task_timeout")
    beat = ctx.clock.seconds("heartbeat")
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    timeout_ok = isinstance(timeout, int | float) and 0 < timeout <= limit
    beat_ok = isinstance(heartbeat, int | float) and 2 <= heartbeat <= beat and (
        not timeout_ok or heartbeat < timeout)
    return partial(0.5 * timeout_ok + 0.5 * beat_ok,
                   f"`{name}` to have TimeoutSeconds <= {limit:g} and HeartbeatSeconds "
                   f"between 2 and {beat:g} ({ctx.clock.explain('task_timeout')}; "
                   f"{ctx.clock.explain('heartbeat')})",
                   f"TimeoutSeconds {timeout}, HeartbeatSeconds {heartbeat}",
                   timeout_seconds=timeout, heartbeat_seconds=heartbeat)


@check
def retry_busy(ctx: CheckContext) -> Outcome:
    found = _token_state(ctx)
    if isinstance(found, Outcome):
        return found
    name, state, _ = found
    retriers = state.get("Retry") or []
    for retrier in retriers:
        errors = retrier.get("ErrorEquals", [])
        if "Warehouse.Busy" in errors:
            attempts = int(retrier.get("MaxAttempts", 3))
            if attempts < 2:
                # LocalStack 4.14 reuses the token on a retry and hands the retried attempt
                # the previous attempt's answer (README, "LocalStack differences").
                return partial(0.5, f"`{name}` to retry `Warehouse.Busy` with MaxAttempts "
                               ">= 2 (LocalStack needs two retries, see the README)",
                               f"MaxAttempts {attempts}", retry=retriers)
            if "Order.Invalid" in errors or "States.ALL" in errors:
                return partial(0.5, f"`{name}` to retry `Warehouse.Busy` only",
                               f"a retrier for {errors}: a permanent error would be "
                               "retried too", retry=retriers)
            return passed(f"`{name}` to retry `Warehouse.Busy`",
                          f"a retrier for {errors} (MaxAttempts "
                          f"{retrier.get('MaxAttempts', 3)})", retry=retriers)
    return failed(f"`{name}` to have a Retry for the error `Warehouse.Busy`",
                  f"Retry {json.dumps(retriers) if retriers else 'none'}", retry=retriers)


def _reaches(definition: dict[str, Any], start: str, want: str, depth: int = 10) -> bool:
    """Does the path from state `start` reach a state satisfying the kind `want`?"""
    states = definition.get("States") or {}
    name: str | None = start
    for _ in range(depth):
        state = states.get(name or "")
        if state is None:
            return False
        if want == "fail" and state.get("Type") == "Fail":
            return state.get("Error") == "Order.Invalid"
        if want == "notify" and state.get("Type") == "Task" and str(
                state.get("Resource", "")) == "arn:aws:states:::sqs:sendMessage" and str(
                (state.get("Parameters") or {}).get("QueueUrl", "")).endswith("rejections"):
            return True
        name = state.get("Next")
    return False


@check
def catch_invalid(ctx: CheckContext) -> Outcome:
    found = _token_state(ctx)
    if isinstance(found, Outcome):
        return found
    name, state, definition = found
    catchers = state.get("Catch") or []
    target = next((c for c in catchers if "Order.Invalid" in c.get("ErrorEquals", [])), None)
    if target is None:
        return failed(f"`{name}` to Catch `Order.Invalid`",
                      f"Catch {json.dumps(catchers) if catchers else 'none'}",
                      catch=catchers)
    nxt = str(target.get("Next", ""))
    notify = _reaches(definition, nxt, "notify")
    fail = _reaches(definition, nxt, "fail")
    return partial(0.4 + 0.3 * notify + 0.3 * fail,
                   f"the catcher of `Order.Invalid` to lead to a Task sending to "
                   f"`{ctx.name('rejections')}` (arn:aws:states:::sqs:sendMessage) and "
                   "then to a Fail state with Error `Order.Invalid`",
                   f"Next `{nxt}`: notification {'found' if notify else 'missing'}, "
                   f"Fail state {'found' if fail else 'missing'}", catch=catchers)


# --- steps 3 and 4: executions against the learner's worker ---------------------------


def _order(run: str, label: str, **extra: Any) -> dict[str, Any]:
    items = extra.pop("items", [{"sku": "SKU-BOOK", "qty": 1}])
    return {"order_id": f"{run}-{label}", "items": items, **extra}


def _start(ctx: CheckContext, arn: str, orders: list[dict[str, Any]]) -> dict[str, str]:
    sfn = ctx.client("stepfunctions")
    return {o["order_id"]: sfn.start_execution(
        stateMachineArn=arn, name=o["order_id"], input=json.dumps(o))["executionArn"]
        for o in orders}


def _describe(ctx: CheckContext, executions: dict[str, str]) -> dict[str, dict[str, Any]]:
    sfn = ctx.client("stepfunctions")
    found: dict[str, dict[str, Any]] = {}
    for order_id, arn in executions.items():
        info = sfn.describe_execution(executionArn=arn)
        stop = info.get("stopDate")
        found[order_id] = {
            "status": info["status"], "error": info.get("error", ""),
            "cause": str(info.get("cause", ""))[:200], "output": info.get("output", ""),
            "seconds": round((stop - info["startDate"]).total_seconds(), 2) if stop else None,
            "arn": arn}
    return found


def _settle(ctx: CheckContext, executions: dict[str, str], timeout: float
            ) -> dict[str, dict[str, Any]]:
    """Wait until no execution runs (bounded), then stop and record the ones still running."""
    state: dict[str, dict[str, Any]] = {}

    def done() -> bool:
        state.update(_describe(ctx, executions))
        return all(s["status"] != "RUNNING" for s in state.values())

    ctx.runner.wait_until(done, timeout=timeout, interval=0.5)
    sfn = ctx.client("stepfunctions")
    for info in state.values():
        info["left_running"] = info["status"] == "RUNNING"
        if info["left_running"]:  # leave nothing behind: the scenario stops what it started
            sfn.stop_execution(executionArn=info["arn"], error="Lab.ScenarioEnded",
                               cause="the lab's scenario ended while it still waited")
    return state


def _task_attempts(ctx: CheckContext, arn: str) -> list[str]:
    events = ctx.client("stepfunctions").get_execution_history(
        executionArn=arn, maxResults=200).get("events", [])
    return [e["type"] for e in events if e["type"] in ("TaskScheduled", "TaskFailed",
                                                       "TaskTimedOut", "TaskSucceeded")
            and any(str(d.get("resource", "")).endswith("waitForTaskToken")
                    for k, d in e.items() if k.endswith("EventDetails"))]


def _drain(ctx: CheckContext, suffix: str, seconds: float) -> list[dict[str, Any]]:
    """Receive and delete everything in a queue for up to `seconds` (bounded)."""
    url = ctx.queue_url(suffix)
    if url is None:
        return []
    sqs = ctx.client("sqs")
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = reply.get("Messages", [])
        if not messages:
            break
        for message in messages:
            try:
                bodies.append(json.loads(message["Body"]))
            except ValueError:
                bodies.append({"raw": message["Body"]})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _require_machine(ctx: CheckContext) -> str:
    arn = _machine_arn(ctx)
    if arn is None:
        raise ScenarioFailed(f"the state machine `{ctx.name(MACHINE)}` does not exist",
                             fix="run `python infra.py` then `python deploy.py`")
    if ctx.queue_url("tasks") is None:
        raise ScenarioFailed(f"the queue `{ctx.name('tasks')}` does not exist",
                             fix="run `python infra.py`")
    return arn


@scenario(timeout=40)
def happy_path(ctx: CheckContext) -> dict[str, Any]:
    """Three good orders and two invalid ones through the learner's worker."""
    arn = _require_machine(ctx)
    _drain(ctx, "tasks", 2)  # leftovers of earlier runs would confuse the worker
    _drain(ctx, "rejections", 2)
    run = f"h{uuid.uuid4().hex[:6]}"
    good = [_order(run, f"good{i}") for i in range(3)]
    bad = [_order(run, "bad0", items=[]),
           _order(run, "bad1", items=[{"sku": "BANANA", "qty": 0}])]
    worker = ctx.runner.start("worker.py")
    executions = _start(ctx, arn, good + bad)
    state = _settle(ctx, executions, timeout=20)
    worker.stop()
    url = ctx.queue_url("tasks")
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return {"good": [o["order_id"] for o in good], "bad": [o["order_id"] for o in bad],
            "executions": state, "rejections": _drain(ctx, "rejections", 3),
            "tasks_left": {k: int(v) for k, v in attrs.items()},
            "calls": dict(worker.api_calls("stepfunctions")), "output": worker.output(20)}


@scenario(timeout=60)
def hard_cases(ctx: CheckContext) -> dict[str, Any]:
    """A lost task (its worker died), a busy warehouse, a slow order, and a good one."""
    arn = _require_machine(ctx)
    _drain(ctx, "tasks", 2)
    run = f"r{uuid.uuid4().hex[:6]}"
    lost = _order(run, "lost")
    executions = _start(ctx, arn, [lost])
    # Play a worker that takes the task and crashes: receive it, delete it, never answer.
    taken: list[dict[str, Any]] = []
    deadline = time.monotonic() + 6
    while not taken and time.monotonic() < deadline:
        taken = _drain(ctx, "tasks", 2)
    others = [_order(run, "busy", simulate="busy"), _order(run, "slow", simulate="slow"),
              _order(run, "good")]
    worker = ctx.runner.start("worker.py")
    executions.update(_start(ctx, arn, others))
    wait = ctx.clock.seconds("task_timeout") + 8
    state = _settle(ctx, executions, timeout=wait)
    worker.stop()
    for info in state.values():
        info["attempts"] = _task_attempts(ctx, info["arn"])
    return {"lost": lost["order_id"], "taken": len(taken), "busy": others[0]["order_id"],
            "slow": others[1]["order_id"], "good": others[2]["order_id"],
            "executions": state, "calls": dict(worker.api_calls("stepfunctions")),
            "output": worker.output(20)}


def _status(info: dict[str, Any]) -> str:
    return info["status"] + (f" ({info['error']})" if info["error"] else "")


def _summary(state: dict[str, dict[str, Any]], ids: list[str]) -> str:
    return ", ".join(f"{i.rsplit('-', 1)[-1]} {_status(state[i])}" for i in ids)


@check
def good_orders_succeed(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("happy_path")
    state, ids = result["executions"], result["good"]
    ok = [i for i in ids if state[i]["status"] == "SUCCEEDED"
          and TRACKING_PREFIX in (state[i]["output"] or "")]
    return partial(len(ok) / len(ids),
                   f"{len(ids)} good orders SUCCEEDED with the worker's shipment (a "
                   f"`{TRACKING_PREFIX}...` tracking number) in their output",
                   f"{len(ok)}: {_summary(state, ids)}", executions=state,
                   worker_calls=result["calls"], worker_output=result["output"])


@check
def invalid_orders_fail(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("happy_path")
    state, ids = result["executions"], result["bad"]
    ok = [i for i in ids if state[i]["status"] == "FAILED"
          and state[i]["error"] == "Order.Invalid"]
    return partial(len(ok) / len(ids),
                   f"{len(ids)} invalid orders FAILED with the error `Order.Invalid`",
                   f"{len(ok)}: {_summary(state, ids)}", executions=state,
                   worker_calls=result["calls"], worker_output=result["output"])


@check
def rejections_sent(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("happy_path")
    wanted = set(result["bad"])
    notices = result["rejections"]
    seen = {str(n.get("order_id")) for n in notices if isinstance(n, dict)} & wanted
    return partial(len(seen) / len(wanted),
                   f"one notice in `{ctx.name('rejections')}` per invalid order "
                   "(with its `order_id`)", f"{len(seen)} of {len(wanted)} "
                   f"({len(notices)} messages)", notices=notices[:5])


@check
def tasks_deleted(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("happy_path")
    left = result["tasks_left"]
    total = sum(left.values())
    return expect(total == 0, f"the worker to delete every task message from "
                  f"`{ctx.name('tasks')}` once it reported", f"{total} left "
                  f"({left['ApproximateNumberOfMessagesNotVisible']} in flight)",
                  queue=left, worker_calls=result["calls"])


@check
def busy_retried(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("hard_cases")
    info = result["executions"][result["busy"]]
    tries = info["attempts"].count("TaskScheduled")
    if info["status"] == "SUCCEEDED" and tries >= 2:
        return passed("the busy order to succeed on a retry",
                      f"SUCCEEDED after {tries} attempts", execution=info)
    return failed("the order refused with `Warehouse.Busy` to be retried and SUCCEED",
                  f"{_status(info)} after {tries} attempt(s)",
                  execution=info, worker_output=result["output"])


@check
def slow_order_heartbeats(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("hard_cases")
    info = result["executions"][result["slow"]]
    beats = int(result["calls"].get("SendTaskHeartbeat", 0))
    ok = info["status"] == "SUCCEEDED" and TRACKING_PREFIX in (info["output"] or "")
    return partial(0.6 * ok + 0.4 * (beats > 0),
                   "the slow order (5 packing steps, longer than HeartbeatSeconds) to "
                   "SUCCEED because the worker sent heartbeats",
                   f"{_status(info)} in {info['seconds']} s with "
                   f"{beats} SendTaskHeartbeat calls", execution=info,
                   worker_calls=result["calls"], worker_output=result["output"])


@check
def lost_task_times_out(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("hard_cases")
    info = result["executions"][result["lost"]]
    beat = ctx.clock.seconds("heartbeat")
    timed_out = "TaskTimedOut" in info["attempts"]
    quick = info["seconds"] is not None and info["seconds"] <= beat + 4
    if info["status"] == "RUNNING" or not timed_out:
        return failed(f"the task whose worker died to time out (HeartbeatSeconds <= {beat:g})",
                      f"{_status(info)}, still waiting when the scenario stopped it"
                      if info.get("left_running") else _status(info), execution=info)
    return partial(0.5 + 0.5 * quick, f"the lost task to time out within about "
                   f"{beat:g} s (the heartbeat), not the whole TimeoutSeconds "
                   f"({ctx.clock.explain('heartbeat')})",
                   f"{_status(info)} after {info['seconds']} s",
                   execution=info)


@check
def nothing_left_running(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("hard_cases")
    state = result["executions"]
    stuck = [i for i, s in state.items() if s.get("left_running")]
    waited = [i for i, s in state.items() if "TaskScheduled" in s["attempts"]]
    if not waited:
        return failed("executions that wait for the worker (a `.waitForTaskToken` task), "
                      "none of them left RUNNING", "no execution waited at all",
                      executions=state)
    return expect(not stuck, "no execution still RUNNING when the scenario ended",
                  f"{len(stuck)} still running: {', '.join(stuck)}" if stuck else "none",
                  executions=state)
