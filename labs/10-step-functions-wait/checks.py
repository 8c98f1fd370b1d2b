"""Checks for lab 10: a Step Functions workflow that waits for an SQS worker (task tokens)."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

from botocore.exceptions import ClientError

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
from tutor.engine.policy import PolicyError, Principal, Request, audit

MACHINE = "fulfilment"
ROLE = "sfn-role"
TOKEN_RESOURCE = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
TRACKING_PREFIX = "TRK-"
SLOW_STEPS = 9  # packing steps of a "slow" order (warehouse.py), each one clock step


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
    want = ctx.clock.seconds("visibility_timeout")
    expected = (f"the queues `{names[0]}` (VisibilityTimeout {want:g} s) and "
                f"`{names[1]}`")
    if missing:
        return partial(len(present) / len(names) * 0.7, expected,
                       f"{', '.join(missing)} missing", present=present)
    visibility = int((ctx.queue_attributes("tasks") or {}).get("VisibilityTimeout", 30))
    if visibility == want:
        return passed(expected, "both, and the tasks queue's VisibilityTimeout is "
                      f"{visibility} s", visibility_timeout=visibility,
                      clock=ctx.clock.explain("visibility_timeout"))
    why = ("a crashed worker's task would come back only after the workflow gave up on it "
           f"(HeartbeatSeconds {ctx.clock.seconds('heartbeat'):g} s)"
           if visibility >= ctx.clock.seconds("heartbeat") else
           f"a task would come back to a second worker before the first finished one "
           f"packing step ({ctx.clock.seconds('packing_step'):g} s)")
    return partial(0.7, expected, f"VisibilityTimeout {visibility} s on `{names[0]}`: {why}",
                   visibility_timeout=visibility)


SFN = "states.amazonaws.com"
OTHER_ACCOUNT = "111122223333"
# Services that must not be able to assume the workflow's role (a sample of the usual ones).
OTHER_SERVICES = ("lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com",
                  "events.amazonaws.com")
# What the workflow's role must not do: other queue actions, other services.
OTHER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue",
                 "sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:ChangeMessageVisibility")
OTHER_SERVICE_ACTIONS = ("sns:Publish", "states:StartExecution", "s3:GetObject",
                         "lambda:InvokeFunction", "iam:PassRole", "dynamodb:PutItem")


def _role_requests(ctx: CheckContext, role_arn: str
                   ) -> tuple[list[Request], list[Request], list[Request], list[Request]]:
    """(trust must allow, trust must deny, permissions must allow, permissions must deny)."""
    account, region = ctx.endpoint.account, ctx.endpoint.region
    machine = f"arn:aws:states:{region}:{account}:stateMachine:{ctx.name(MACHINE)}"
    mine = {"aws:SourceAccount": account, "aws:SourceArn": machine}
    trust_allow = [Request("sts:AssumeRole", role_arn, Principal.service(SFN), mine,
                           label=f"{SFN} to assume it for `{ctx.name(MACHINE)}`")]
    trust_deny = [Request("sts:AssumeRole", role_arn, Principal.service(service),
                          {"aws:SourceAccount": account}, label=f"{service} to assume it")
                  for service in OTHER_SERVICES]
    trust_deny += [
        Request("sts:AssumeRole", role_arn, Principal.account(account), {},
                label=f"any IAM user or role of your account ({account}) to assume it"),
        Request("sts:AssumeRole", role_arn, Principal.account(OTHER_ACCOUNT), {},
                label=f"another AWS account ({OTHER_ACCOUNT}) to assume it"),
        Request("sts:AssumeRole", role_arn, Principal.anonymous(), {},
                label="anyone, anonymously, to assume it"),
    ]
    tasks, rejections = ctx.queue_arn("tasks"), ctx.queue_arn("rejections")
    send_allow = [Request("sqs:SendMessage", q,
                          label=f"sqs:SendMessage on `{q.rsplit(':', 1)[-1]}`")
                  for q in (tasks, rejections)]
    other_queue = f"arn:aws:sqs:{region}:{account}:{ctx.name('other')}"
    foreign = f"arn:aws:sqs:{region}:{OTHER_ACCOUNT}:{ctx.name('tasks')}"
    send_deny = [Request(action, tasks, label=f"{action} on `{ctx.name('tasks')}` (only "
                         "SendMessage was asked for)") for action in OTHER_ACTIONS]
    send_deny += [
        Request("sqs:SendMessage", other_queue,
                label=f"sqs:SendMessage on another queue of your account (`{ctx.name('other')}`)"),
        Request("sqs:SendMessage", foreign,
                label=f"sqs:SendMessage on a queue with the same name in another account "
                      f"({OTHER_ACCOUNT})"),
    ]
    send_deny += [Request(action, "*", label=f"{action} (another service)")
                  for action in OTHER_SERVICE_ACTIONS]
    return trust_allow, trust_deny, send_allow, send_deny


@check
def workflow_role(ctx: CheckContext) -> Outcome:
    iam = ctx.client("iam")
    role = ctx.name(ROLE)
    expected = (f"the role `{role}` trusted by `{SFN}` only, allowed `sqs:SendMessage` on "
                f"`{ctx.name('tasks')}` and `{ctx.name('rejections')}` and nothing else")
    try:
        found = ctx.role_policies(ROLE)
    except PolicyError as exc:
        return failed(expected, f"a policy IAM cannot read: {exc}")
    if found is None:
        return failed(expected, "no such role")
    trust, permissions = found
    role_arn = str(iam.get_role(RoleName=role)["Role"]["Arn"])
    trust_allow, trust_deny, send_allow, send_deny = _role_requests(ctx, role_arn)
    trusted = audit([trust], trust_allow, trust_deny)
    allowed = audit(permissions, send_allow, send_deny)
    said = []
    if not trusted.ok:
        said.append(f"trust policy: {trusted.summary()}")
    if not permissions:
        said.append("no permission policy (inline or attached) on the role")
    elif not allowed.ok:
        said.append(f"permissions ({', '.join(p.source for p in permissions)}): "
                    f"{allowed.summary()}")
    evidence = {"trust": trusted.to_evidence(), "permissions": allowed.to_evidence(),
                "policies": [p.source for p in permissions]}
    if trusted.ok and allowed.ok:
        return passed(expected, "exactly that ("
                      + ", ".join(p.source for p in permissions) + ")", **evidence)
    rights = 0.0 if not permissions else \
        0.5 * (not allowed.missing) + 0.5 * (not allowed.excess)
    return partial(min(0.9, 0.4 * trusted.ok + 0.6 * rights), expected, "; ".join(said),
                   **evidence)


# --- step 2: the state machine definition ----------------------------------------------


@check
def machine_role(ctx: CheckContext) -> Outcome:
    definition, info = _machine(ctx)
    if definition is None:
        return _no_machine(ctx)
    role_arn = str(info.get("roleArn", ""))
    iam = ctx.client("iam")
    try:
        want = str(iam.get_role(RoleName=ctx.name(ROLE))["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        want = f"arn:aws:iam::{ctx.endpoint.account}:role/{ctx.name(ROLE)}"
    return expect(role_arn == want, f"the state machine to run as the role `{want}`",
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


@scenario(timeout=30)
def token_message(ctx: CheckContext) -> dict[str, Any]:
    """Start one execution and read the message its task sends: what a worker gets."""
    arn = _require_machine(ctx)
    _drain(ctx, "tasks", 2)
    run = f"t{uuid.uuid4().hex[:6]}"
    order = _order(run, "probe")
    executions = _start(ctx, arn, [order])
    sqs, sfn = ctx.client("sqs"), ctx.client("stepfunctions")
    url = ctx.require_queue_url("tasks")
    raw: str | None = None
    deadline = time.monotonic() + 8
    while raw is None and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if run in message["Body"]:
                raw = message["Body"]
    body: Any = None
    if raw is not None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
    token = body.get("taskToken") if isinstance(body, dict) else None
    accepted: str = "no token"
    if isinstance(token, str) and token:
        try:  # the token is real if Step Functions accepts an answer for it
            sfn.send_task_failure(taskToken=token, error="Lab.TokenProbe",
                                  cause="the tutor only read the task message")
            accepted = "accepted"
        except ClientError as exc:
            accepted = str(exc.response.get("Error", {}).get("Code", "refused"))
    status = _describe(ctx, executions)[order["order_id"]]
    if status["status"] == "RUNNING":
        sfn.stop_execution(executionArn=status["arn"], error="Lab.ScenarioEnded",
                           cause="the tutor only read the task message")
    return {"raw": (raw or "")[:600], "body_is_object": isinstance(body, dict),
            "keys": sorted(body) if isinstance(body, dict) else [],
            "token": token if isinstance(token, str) else None, "accepted": accepted,
            "order_ok": isinstance(body, dict) and body.get("order") == order,
            "status": status["status"]}


@check
def token_in_message(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("token_message")
    expected = ("the task message to be the JSON object {\"order\": <the input>, "
                "\"taskToken\": <the task's token>}, the token one Step Functions accepts")
    if not result["raw"]:
        return failed(expected, "no message reached the queue within 8 s of the start "
                      f"(the execution is {result['status']})", **result)
    if not result["body_is_object"]:
        return failed(expected, f"a body that is not a JSON object: {result['raw'][:200]}",
                      **result)
    token = result["token"]
    if token is None:
        return failed(expected, f"no `taskToken` field (keys {result['keys']})", **result)
    if token.startswith("$"):
        return failed(expected, f"`taskToken` holds the text `{token}`, not the token: a "
                      "key whose value is a path must end in `.$` "
                      "(`\"taskToken.$\": \"$$.Task.Token\"`)", **result)
    if result["accepted"] != "accepted":
        return failed(expected, f"a `taskToken` that Step Functions refused "
                      f"({result['accepted']})", **result)
    if not result["order_ok"]:
        return partial(0.6, expected, "the token, but `order` is not the execution's input "
                       f"(keys {result['keys']})", **result)
    return passed(expected, "exactly that", **result)


@check
def bounded_wait(ctx: CheckContext) -> Outcome:
    found = _token_state(ctx)
    if isinstance(found, Outcome):
        return found
    name, state, _ = found
    limit = ctx.clock.seconds("task_timeout")
    beat = ctx.clock.seconds("heartbeat")
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    timeout_ok = isinstance(timeout, int | float) and timeout == limit
    beat_ok = isinstance(heartbeat, int | float) and heartbeat == beat
    said = [f"TimeoutSeconds {timeout}, HeartbeatSeconds {heartbeat}"]
    if timeout is None:
        said.append("without TimeoutSeconds the task waits as long as the execution may "
                    "live (a year)")
    if heartbeat is None:
        said.append("without HeartbeatSeconds a dead worker is noticed only at the timeout")
    elif isinstance(heartbeat, int | float) and heartbeat < beat:
        said.append(f"a {heartbeat:g} s heartbeat leaves a crashed worker's task no time "
                    f"to come back (visibility timeout "
                    f"{ctx.clock.seconds('visibility_timeout'):g} s) and be answered")
    return partial(0.5 * timeout_ok + 0.5 * beat_ok,
                   f"`{name}` to have TimeoutSeconds {limit:g} and HeartbeatSeconds {beat:g} "
                   f"({ctx.clock.explain('task_timeout')}; {ctx.clock.explain('heartbeat')})",
                   ": ".join(said[:1]) + ("; " + "; ".join(said[1:]) if said[1:] else ""),
                   timeout_seconds=timeout, heartbeat_seconds=heartbeat)


# Errors a worker or Step Functions can raise at PackOrder, to see what each meets.
TIMEOUT = "States.Timeout"


def _first_match(rules: list[Any], error: str) -> tuple[int, dict[str, Any]] | None:
    """The retrier or catcher Step Functions applies to `error`: the first, in order, whose
    ErrorEquals names it (States.ALL: every error; States.TaskFailed: every error but a
    timeout; States.HeartbeatTimeout: a missed heartbeat, a kind of States.Timeout)."""
    for index, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict):
            continue
        names = [str(e) for e in rule.get("ErrorEquals") or []]
        if error in names or "States.ALL" in names \
                or ("States.TaskFailed" in names and error != TIMEOUT) \
                or (error == TIMEOUT and "States.HeartbeatTimeout" in names):
            return index, rule
    return None


def _rule_name(kind: str, index: int, rule: dict[str, Any]) -> str:
    return f"{kind} {index} (ErrorEquals {json.dumps(rule.get('ErrorEquals'))})"


@check
def retry_busy(ctx: CheckContext) -> Outcome:
    found = _token_state(ctx)
    if isinstance(found, Outcome):
        return found
    name, state, _ = found
    retriers = state.get("Retry") or []
    expected = (f"`{name}` to retry `Warehouse.Busy` (IntervalSeconds 1, BackoffRate 2, "
                "MaxAttempts 2 or 3) and nothing else")
    wrong: list[str] = []
    busy = _first_match(retriers, "Warehouse.Busy")
    if busy is None or int(busy[1].get("MaxAttempts", 3)) < 1:
        wrong.append("nothing retries `Warehouse.Busy`" if busy is None else
                     f"{_rule_name('retrier', *busy)} has MaxAttempts 0: it never retries")
    else:
        index, rule = busy
        attempts = int(rule.get("MaxAttempts", 3))
        interval = rule.get("IntervalSeconds", 1)
        backoff = rule.get("BackoffRate", 2)
        if attempts < 2:
            # LocalStack 4.14 reuses the token on a retry and hands the retried attempt the
            # previous attempt's answer (README, "LocalStack differences").
            wrong.append(f"MaxAttempts {attempts} (LocalStack needs two retries, see the "
                         "README)")
        elif attempts > 3:
            wrong.append(f"MaxAttempts {attempts}, where the step asks for 3 (2 passes too)")
        if interval != 1 or backoff != 2:
            wrong.append(f"IntervalSeconds {interval} and BackoffRate {backoff}, where the "
                         "step asks for 1 and 2")
    also: dict[int, list[str]] = {}
    for error, why in (("Order.Invalid", "a permanent error, it can never succeed"),
                       (TIMEOUT, "a lost task: retrying it resends the order"),
                       ("Worker.Crashed", "or any other error: a retrier names what it "
                                          "retries")):
        hit = _first_match(retriers, error)
        if hit is not None and int(hit[1].get("MaxAttempts", 3)) > 0:
            also.setdefault(hit[0], []).append(f"`{error}` ({why})")
    for index, errors in also.items():
        wrong.append(f"{_rule_name('retrier', index, retriers[index - 1])} also retries "
                     + ", ".join(errors))
    if not wrong:
        index, rule = busy  # type: ignore[misc]
        return passed(expected, f"{_rule_name('retrier', index, rule)} with MaxAttempts "
                      f"{rule.get('MaxAttempts', 3)}", retry=retriers)
    return partial(0.5 if busy is not None else 0.0, expected, "; ".join(wrong),
                   retry=retriers)


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
    expected = (f"`{name}` to catch `Order.Invalid` into a Task sending to "
                f"`{ctx.name('rejections')}` (arn:aws:states:::sqs:sendMessage) and then a "
                "Fail state with Error `Order.Invalid`, and no other error into that path")
    target = _first_match(catchers, "Order.Invalid")
    if target is None:
        return failed(expected, f"Catch {json.dumps(catchers) if catchers else 'none'}",
                      catch=catchers)
    index, catcher = target
    nxt = str(catcher.get("Next", ""))
    notify = _reaches(definition, nxt, "notify")
    fail = _reaches(definition, nxt, "fail")
    wrong = []
    if not notify:
        wrong.append(f"{_rule_name('catcher', index, catcher)} goes to `{nxt}`, which does "
                     "not send the notice")
    if not fail:
        wrong.append(f"the path from `{nxt}` does not end in a Fail state with Error "
                     "`Order.Invalid`")
    for error, what in (("Warehouse.Busy", "a busy warehouse (after its retries)"),
                        (TIMEOUT, "a lost task")):
        hit = _first_match(catchers, error)
        if hit is not None and (_reaches(definition, str(hit[1].get("Next", "")), "notify")
                                or _reaches(definition, str(hit[1].get("Next", "")), "fail")):
            wrong.append(f"{_rule_name('catcher', *hit)} sends `{error}` into the rejection "
                         f"path too: {what} would tell the customer the order is invalid")
    if not wrong:
        return passed(expected, f"{_rule_name('catcher', index, catcher)} -> `{nxt}`",
                      catch=catchers)
    misrouted = len(wrong) > (not notify) + (not fail)
    return partial((0.4 + 0.3 * notify + 0.3 * fail) * (0.6 if misrouted else 1.0),
                   expected, "; ".join(wrong), catch=catchers)


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


def _settle(ctx: CheckContext, executions: dict[str, str], timeout: float,
            hopeless: Callable[[dict[str, dict[str, Any]]], bool] | None = None
            ) -> dict[str, dict[str, Any]]:
    """Wait until no execution runs, or until the outcome is certain (`hopeless`: those
    still running can never end well), bounded; then stop and record the ones running."""
    state: dict[str, dict[str, Any]] = {}

    def done() -> bool:
        state.update(_describe(ctx, executions))
        if all(s["status"] != "RUNNING" for s in state.values()):
            return True
        return hopeless is not None and hopeless(state)

    ctx.runner.wait_until(done, timeout=timeout, interval=0.5)
    sfn = ctx.client("stepfunctions")
    for info in state.values():
        info["left_running"] = info["status"] == "RUNNING"
        if info["left_running"]:  # leave nothing behind: the scenario stops what it started
            sfn.stop_execution(executionArn=info["arn"], error="Lab.ScenarioEnded",
                               cause="the lab's scenario ended while it still waited")
    return state


def _limits(ctx: CheckContext) -> tuple[Any, Any, int]:
    """(TimeoutSeconds, HeartbeatSeconds) of the token task, and the tasks queue's
    VisibilityTimeout: the learner's own settings, which size the scenarios' waits."""
    definition, _ = _machine(ctx)
    found = _token_task(definition or {})
    state = found[1] if found else {}
    visibility = int((ctx.queue_attributes("tasks") or {}).get("VisibilityTimeout", 30))
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    return (timeout if isinstance(timeout, int | float) else None,
            heartbeat if isinstance(heartbeat, int | float) else None, visibility)


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


def _start_workers(ctx: CheckContext, count: int = 1, restarts: int = 0) -> list[Any]:
    """Start the learner's worker(s) and wait until each has made its first SQS call (it
    is about to poll), bounded: a worker still importing boto3 on a busy machine would
    miss a task's 6 s heartbeat through no fault of its code."""
    workers = [ctx.runner.start("worker.py", restarts=restarts) for _ in range(count)]
    ctx.wait_started(workers)
    time.sleep(0.3)
    return workers


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
    worker = _start_workers(ctx)[0]
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


# The fault step 3 exists for: the worker dies between taking a task and reporting it.
KILL_BEFORE_SUCCESS = faults.kill("SendTaskSuccess", when="before", id="kill-before-success")


def _crash_facts(workers: list[Any]) -> dict[str, Any]:
    """What the crashed worker had done when the tutor killed it."""
    for worker in workers:
        kills = worker.faults("kill")
        if not kills:
            continue
        kill = kills[0]
        before = [e for e in worker.events("api") if e.get("pid") == kill.get("pid")
                  and float(e.get("t", 0)) <= float(kill.get("t", 0))]
        return {"fired": True, "t": float(kill.get("t", 0)),
                "deleted_before": sum(1 for e in before if e.get("op") in
                                      ("DeleteMessage", "DeleteMessageBatch")),
                "received_before": sum(int(e.get("n", 0)) for e in before
                                       if e.get("op") == "ReceiveMessage")}
    return {"fired": False, "t": 0.0, "deleted_before": 0, "received_before": 0}


@scenario(timeout=50)
def worker_crash(ctx: CheckContext) -> dict[str, Any]:
    """Two workers; the one that packs the order dies right before SendTaskSuccess."""
    arn = _require_machine(ctx)
    _drain(ctx, "tasks", 2)
    timeout, heartbeat, visibility = _limits(ctx)
    run = f"c{uuid.uuid4().hex[:6]}"
    order = _order(run, "crash")
    ctx.runner.inject(KILL_BEFORE_SUCCESS)
    workers = _start_workers(ctx, 2, restarts=1)
    try:
        executions = _start(ctx, arn, [order])
        limit = heartbeat or timeout
        wait = ctx.budget(min(visibility, 30) + 2 * ctx.clock.seconds("packing_step") + 6
                          + (limit or 0),
                          f"the tasks queue's VisibilityTimeout {visibility} s"
                          + (f" + {'HeartbeatSeconds' if heartbeat else 'TimeoutSeconds'} "
                             f"{limit:g} s" if limit else ""), most=45)
        url = ctx.require_queue_url("tasks")
        empty_since: list[float] = []

        def hopeless(state: dict[str, dict[str, Any]]) -> bool:
            # The crashed worker had deleted the task before reporting and nothing is
            # left in the queue: no worker can ever answer it.
            facts = _crash_facts(workers)
            if not facts["fired"] or not facts["deleted_before"]:
                return False
            if sum(ctx.message_counts(url)) == 0:
                empty_since.append(time.monotonic())
                return empty_since[-1] - empty_since[0] >= 1.5
            empty_since.clear()
            return False

        state = _settle(ctx, executions, timeout=wait, hopeless=hopeless)
    finally:
        for worker in workers:
            worker.stop()
        ctx.runner.set_faults([])
    info = state[order["order_id"]]
    info["attempts"] = _task_attempts(ctx, info["arn"])
    facts = _crash_facts(workers)
    return {"order": order["order_id"], "execution": info, "crash": facts,
            "visibility": visibility, "heartbeat": heartbeat, "timeout": timeout,
            "restarts": sum(w.restarts for w in workers),
            "output": "\n".join(w.output(10) for w in workers)}


@scenario(timeout=60)
def hard_cases(ctx: CheckContext) -> dict[str, Any]:
    """A lost task (its worker died), a busy warehouse, a slow order, and a good one."""
    arn = _require_machine(ctx)
    _drain(ctx, "tasks", 2)
    timeout, heartbeat, _ = _limits(ctx)
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
    worker = _start_workers(ctx)[0]
    executions.update(_start(ctx, arn, others))
    wait = ctx.budget((timeout or ctx.clock.seconds("task_timeout")) + 8,
                      f"TimeoutSeconds {timeout:g} s" if timeout else
                      f"no TimeoutSeconds (the tutor waits as for "
                      f"{ctx.clock.seconds('task_timeout'):g} s)", most=50)

    def hopeless(state: dict[str, dict[str, Any]]) -> bool:
        # Without TimeoutSeconds and HeartbeatSeconds the lost task waits forever: once
        # the others have ended, waiting longer cannot change the outcome.
        return timeout is None and heartbeat is None and all(
            info["status"] != "RUNNING" for order_id, info in state.items()
            if order_id != lost["order_id"])

    state = _settle(ctx, executions, timeout=wait, hopeless=hopeless)
    worker.stop()
    for info in state.values():
        info["attempts"] = _task_attempts(ctx, info["arn"])
    sent = sum(state[o["order_id"]]["attempts"].count("TaskScheduled") for o in others)
    received = sum(int(e.get("n", 0)) for e in worker.events("api")
                   if e.get("op") == "ReceiveMessage")
    return {"lost": lost["order_id"], "taken": len(taken), "busy": others[0]["order_id"],
            "slow": others[1]["order_id"], "good": others[2]["order_id"],
            "executions": state, "calls": dict(worker.api_calls("stepfunctions")),
            "sqs_calls": dict(worker.api_calls("sqs")), "tasks_sent": sent,
            "extensions": [(float(e["t"]), e.get("vt")) for e in worker.events("api")
                           if e.get("op") in ("ChangeMessageVisibility",
                                              "ChangeMessageVisibilityBatch")
                           and not e.get("error") and "t" in e],
            "tasks_received": received, "output": worker.output(20)}


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
    bare = [i for i in ids if state[i]["status"] == "SUCCEEDED" and i not in ok]
    return partial(len(ok) / len(ids),
                   f"{len(ids)} good orders SUCCEEDED with the worker's shipment (a "
                   f"`{TRACKING_PREFIX}...` tracking number) in their output",
                   f"{len(ok)}: {_summary(state, ids)}"
                   + (f"; {len(bare)} SUCCEEDED without the shipment in their output (is "
                      "`output` the shipment as a JSON string?)" if bare else ""),
                   executions=state,
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
    notices = [n for n in result["rejections"] if isinstance(n, dict)]
    per_order = Counter(str(n.get("order_id")) for n in notices)
    good = {str(n.get("order_id")) for n in notices
            if n.get("error") == "Order.Invalid" and str(n.get("cause") or "").strip()}
    right = [o for o in wanted if per_order[o] == 1 and o in good]
    said = [f"{len(right)} of {len(wanted)} right ({len(notices)} messages)"]
    if not notices:
        said.append(f"the invalid orders ended {_summary(result['executions'], result['bad'])}")
    if any(per_order[o] > 1 for o in wanted):
        said.append("some orders got more than one notice")
    if any(per_order[o] == 1 and o not in good for o in wanted):
        said.append("a notice without `error` = `Order.Invalid` and a `cause` (read them "
                    "from the catcher's ResultPath, e.g. `$.error.Error` and "
                    "`$.error.Cause`)")
    return partial(len(right) / len(wanted),
                   f"one notice in `{ctx.name('rejections')}` per invalid order, "
                   "{\"order_id\", \"error\": \"Order.Invalid\", \"cause\"}", "; ".join(said),
                   notices=notices[:5])


@check
def crash_safe(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("worker_crash")
    info, crash = result["execution"], result["crash"]
    expected = ("the order to SUCCEED although the worker died between taking its task and "
                "reporting (its task message comes back after the visibility timeout and a "
                "worker answers)")
    evidence = {"execution": info, "crash": crash, "worker_output": result["output"]}
    what = "the tutor crashed worker.py (SIGKILL) right before its first SendTaskSuccess"
    if not crash["fired"]:
        return failed(expected, f"{_status(info)}: the tutor meant to crash worker.py right "
                      "before SendTaskSuccess, but it never called SendTaskSuccess",
                      **evidence)
    if info["status"] == "SUCCEEDED" and TRACKING_PREFIX in (info["output"] or ""):
        return passed(expected, f"{what}; the task came back and was answered: SUCCEEDED "
                      f"in {info['seconds']} s", **evidence)
    ended = ("still waiting when the tutor stopped it" if info.get("left_running")
             else _status(info))
    if crash["deleted_before"]:
        return failed(expected, f"{what}: your worker had already deleted the task message, "
                      f"so no worker could ever answer order {result['order']} ({ended}). "
                      "Delete the message only after SendTaskSuccess or SendTaskFailure",
                      **evidence)
    beat = result["heartbeat"]
    return failed(expected, f"{what}; the task message was still in "
                  f"`{ctx.name('tasks')}`, but no worker answered in time ({ended}): it "
                  f"comes back after VisibilityTimeout {result['visibility']} s (or the "
                  "visibility your worker set last), which must be shorter than "
                  f"HeartbeatSeconds{f' {beat:g} s' if beat else ''}", **evidence)


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
                   "the slow order (9 packing steps, longer than HeartbeatSeconds) to "
                   "SUCCEED because the worker sent heartbeats",
                   f"{_status(info)} in {info['seconds']} s with "
                   f"{beats} SendTaskHeartbeat calls", execution=info,
                   worker_calls=result["calls"], worker_output=result["output"])


def _stalled(extensions: list[tuple[float, Any]]) -> str:
    """Why a message came back although the worker's design keeps it hidden ("" when the
    design is at fault): it extended the visibility at every step, each time for longer
    than its own pace between extensions, and the machine held it longer than that once.
    A worker that never extends, or extends for less than its pace, is not excused."""
    if len(extensions) < SLOW_STEPS - 1:
        return ""
    asked = [float(vt) for _t, vt in extensions if isinstance(vt, int | float)]
    if len(asked) < len(extensions) or not asked:
        return ""
    times = sorted(t for t, _vt in extensions)
    gaps = sorted(b - a for a, b in pairwise(times))
    pace = gaps[len(gaps) // 2] if gaps else 0.0
    shortest = min(asked)
    if not gaps or pace >= shortest or gaps[-1] <= shortest:
        return ""
    return (f"a message came back although your worker extended its visibility at every "
            f"step ({len(extensions)} ChangeMessageVisibility calls, {pace:.1f} s apart, "
            f"each for {shortest:g} s): once the busy machine held your worker "
            f"{gaps[-1]:.1f} s between two extensions, longer than the {shortest:g} s it "
            "asked for — your design is right; on a real queue, ask for more than a step")


@check
def packed_once(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("hard_cases")
    sent, received = result["tasks_sent"], result["tasks_received"]
    extended = int(result["sqs_calls"].get("ChangeMessageVisibility", 0))
    visibility = ctx.clock.seconds("visibility_timeout")
    expected = ("each task message received once: a message being packed must not come "
                "back to another worker")
    evidence = {"tasks_sent": sent, "tasks_received": received,
                "change_message_visibility": extended, "worker_output": result["output"]}
    if not sent:
        return failed(expected, "no task was sent to the worker", **evidence)
    if received <= sent:
        return passed(expected, f"{received} received for {sent} tasks sent", **evidence)
    stalled = _stalled(result.get("extensions", []))
    if stalled:
        return passed(expected, f"{received} received for {sent} tasks sent: {stalled}",
                      **evidence)
    if received == sent + 1 and extended >= SLOW_STEPS:
        # The worker extended the visibility at every packing step of the slow order; one
        # extension arriving after the 2 s ran out (a 1 s step plus the call, on a loaded
        # machine, or LocalStack's 1 s requeue tick) is the machine, not the design.
        return passed(expected, f"{received} received for {sent} tasks sent: one message came "
                      f"back once although your worker extended its visibility at every step "
                      f"({extended} ChangeMessageVisibility calls); with {visibility:g} s of "
                      "visibility and 1 s steps the margin is thin on a busy machine",
                      **evidence)
    return failed(expected, f"{received} task messages received for {sent} sent: a message "
                  f"came back while your worker was still packing it (VisibilityTimeout "
                  f"{visibility:g} s, the slow order packs for {SLOW_STEPS} s), so the "
                  "warehouse packed it again; extend the message's visibility "
                  f"(ChangeMessageVisibility) with every heartbeat ({extended} "
                  "ChangeMessageVisibility calls)", **evidence)


@check
def lost_task_times_out(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("hard_cases")
    info = result["executions"][result["lost"]]
    beat = ctx.clock.seconds("heartbeat")
    timed_out = "TaskTimedOut" in info["attempts"]
    quick = info["seconds"] is not None and info["seconds"] <= beat + 4
    if info["status"] == "RUNNING" or not timed_out:
        return failed(f"the task whose worker died to time out (HeartbeatSeconds {beat:g})",
                      f"{_status(info)}, still waiting when the scenario stopped it"
                      if info.get("left_running") else _status(info), execution=info)
    if info["error"] == "Order.Invalid":
        return failed("the lost task to end as a timeout, not as a rejected order",
                      f"{_status(info)}: a catcher sent `States.Timeout` into the rejection "
                      "path, which tells the customer the order is invalid", execution=info)
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
