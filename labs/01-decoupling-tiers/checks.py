"""Checks for lab 01: decoupling the web tier from a slow or failing downstream with SQS."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
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
    skipped,
)
from tutor.engine.labs.scenario import Program, node_binary

LAB_DIR = Path(__file__).resolve().parent
NPM_TIMEOUT = 45.0  # seconds for an on-demand `npm ci` of the Node consumer's SDK


# --- helpers -------------------------------------------------------------------------

def _contract() -> ModuleType:
    """The lab's own copy of the contract validator (not the learner's workspace copy)."""
    path = LAB_DIR / "starter" / "contract" / "order_contract.py"
    spec = importlib.util.spec_from_file_location("tutor_lab01_order_contract", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(method: str, url: str, body: dict[str, Any] | None = None,
          timeout: float = 5.0) -> tuple[int, float, str]:
    """(status, seconds, text); status 0 when the connection failed or timed out."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, time.monotonic() - start, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, time.monotonic() - start, exc.read().decode(errors="replace")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return 0, time.monotonic() - start, str(exc)


def _order(run: str, n: int) -> dict[str, Any]:
    return {"order_id": f"{run}-{n}", "customer": f"customer-{n % 7}",
            "items": [{"sku": f"SKU-{n % 5}", "qty": 1 + n % 3}], "total_cents": 999 + n}


def _post_orders(base: str, orders: list[dict[str, Any]], threads: int = 5,
                 rate: float | None = None) -> list[dict[str, Any]]:
    """POST every order to the frontend from `threads` clients, paced to `rate`/s."""
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    index = iter(range(len(orders)))
    start = time.monotonic()

    def client() -> None:
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                return
            if rate:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            status, seconds, text = _http("POST", f"{base}/orders", orders[i], timeout=6)
            with lock:
                results.append({"order_id": orders[i]["order_id"], "status": status,
                                "seconds": round(seconds, 4), "reply": text[:160]})

    pool = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=30)
    return results


def p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _wait_healthy(ctx: CheckContext, program: Program, port: int, what: str) -> None:
    ok = ctx.runner.wait_until(
        lambda: not program.alive or _http("GET", f"http://127.0.0.1:{port}/health",
                                           timeout=0.5)[0] == 200, timeout=8, interval=0.1)
    if not ok or not program.alive:
        raise ScenarioFailed(f"{what} did not start (no answer on port {port})",
                             program.output(), fix=f"run `python {program.name}` yourself "
                             "to see the error")


def _depth(ctx: CheckContext, url: str) -> int:
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + \
        int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _effects(ctx: CheckContext, run: str) -> list[dict[str, Any]]:
    path = ctx.workspace / "downstream.jsonl"
    rows = []
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                row = json.loads(line)
                if str(row.get("order_id", "")).startswith(run + "-"):
                    rows.append(row)
    return rows


def _require_queue(ctx: CheckContext) -> str:
    url = ctx.queue_url("orders")
    if url is None:
        raise ScenarioFailed(f"the queue `{ctx.name('orders')}` does not exist",
                             fix="create it in infra.py and run `python infra.py`")
    return url


class _Stack:
    """The lab's three processes on free ports: downstream, frontend, a consumer."""

    def __init__(self, ctx: CheckContext, run: str) -> None:
        self.ctx = ctx
        self.run = run
        self.down_port = _free_port()
        self.front_port = _free_port()
        self.env = {"DOWNSTREAM_URL": f"http://127.0.0.1:{self.down_port}"}
        self.downstream: Program | None = None
        self.frontend: Program | None = None
        self.consumer: Program | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    def start_downstream(self, delay: float = 0.0) -> None:
        self.downstream = self.ctx.runner.start(
            "downstream.py", "--port", str(self.down_port), "--delay", str(delay),
            "--effects", "downstream.jsonl", measure=False)
        _wait_healthy(self.ctx, self.downstream, self.down_port, "downstream.py")

    def stop_downstream(self) -> None:
        if self.downstream is not None:
            self.downstream.stop(grace=1.0)

    def set_delay(self, delay: float) -> None:
        _http("POST", f"http://127.0.0.1:{self.down_port}/_control", {"delay": delay},
              timeout=2)

    def start_frontend(self) -> None:
        self.frontend = self.ctx.runner.start("frontend.py", "--port", str(self.front_port),
                                              env=self.env)
        _wait_healthy(self.ctx, self.frontend, self.front_port, "frontend.py")

    def start_consumer(self, program: str) -> None:
        self.consumer = self.ctx.runner.start(program, env=self.env)

    def outputs(self) -> dict[str, str]:
        return {p.name: p.output(12) for p in (self.frontend, self.consumer, self.downstream)
                if p is not None}


# --- step 1: the queue ---------------------------------------------------------------

@check
def queue_exists(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders")
    if attrs is None:
        return failed(f"the queue `{ctx.name('orders')}`", "no such queue")
    return passed(f"the queue `{ctx.name('orders')}`", "it exists",
                  queue_arn=attrs.get("QueueArn"))


@check
def visibility_timeout(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes("orders") or {}
    want = ctx.clock.seconds("visibility_timeout")
    work = ctx.clock.seconds("downstream_timeout")
    value = float(attrs.get("VisibilityTimeout", "nan"))
    ok = value == want
    return expect(ok, f"VisibilityTimeout={want:g} s: above the worker's {work:g} s downstream "
                  "timeout, short enough to retry soon "
                  f"({ctx.clock.explain('visibility_timeout')})",
                  f"VisibilityTimeout={attrs.get('VisibilityTimeout', 'absent')}")


# --- step 2: the web tier publishes the contract --------------------------------------------

@scenario(timeout=40)
def publish(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx)
    sqs = ctx.client("sqs")
    sqs.purge_queue(QueueUrl=url)
    run = uuid.uuid4().hex[:8]
    stack = _Stack(ctx, run)  # no downstream and no worker at all: only the web tier
    stack.start_frontend()
    replies = _post_orders(stack.base, [_order(run, n) for n in range(6)], threads=3)
    assert stack.frontend is not None
    stack.frontend.stop(grace=1.0)
    validate = _contract().validate
    messages = []
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        for message in got:
            try:
                body = json.loads(message["Body"])
            except ValueError:
                body = message["Body"]
            messages.append({"body": body, "problems": validate(body)})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    mine = [m for m in messages
            if isinstance(m["body"], dict) and str(m["body"].get("order_id", "")).startswith(run)]
    return {"run": run, "replies": replies, "messages": mine, "output": stack.outputs()}


@check
def accepts_without_downstream(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("publish")
    replies = result["replies"]
    ok = [r for r in replies if 200 <= r["status"] < 300]
    budget = ctx.clock.seconds("latency_budget")
    worst = p95([r["seconds"] for r in replies])
    score = len(ok) / len(replies) * (1.0 if worst <= budget else 0.5)
    statuses = Counter(str(r["status"]) for r in replies)
    return partial(score, f"all {len(replies)} orders accepted (2xx) with p95 <= "
                   f"{budget * 1000:.0f} ms while NO downstream runs",
                   f"{len(ok)} accepted, statuses {dict(statuses)}, p95 {worst * 1000:.0f} ms",
                   replies=replies[:6], frontend_output=result["output"])


@check
def contract_messages(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("publish")
    messages = result["messages"]
    want = len(result["replies"])
    valid = [m for m in messages if not m["problems"]]
    ids = Counter(m["body"].get("order_id") for m in messages)
    if not messages:
        return failed(f"{want} order.v1 messages in `{ctx.name('orders')}`", "no message",
                      frontend_output=result["output"])
    problems = [p for m in messages for p in m["problems"]][:6]
    score = min(len(valid), len(ids)) / want
    return partial(score, f"{want} messages, one per order, each valid against "
                   "contract/order.v1.schema.json",
                   f"{len(messages)} messages, {len(valid)} valid" +
                   (f"; problems: {problems}" if problems else ""),
                   example=messages[0]["body"])


# --- step 3: the worker, and isolation from a failing / slow downstream ----------------------

@scenario(timeout=75)
def outage(ctx: CheckContext) -> dict[str, Any]:
    url = _require_queue(ctx)
    ctx.client("sqs").purge_queue(QueueUrl=url)
    (ctx.workspace / "downstream.jsonl").unlink(missing_ok=True)
    run = uuid.uuid4().hex[:8]
    stack = _Stack(ctx, run)
    clock = ctx.clock
    stack.start_downstream()
    stack.start_frontend()
    stack.start_consumer("worker.py")
    orders = [_order(run, n) for n in range(40)]
    phases: dict[str, list[dict[str, Any]]] = {}
    phases["normal"] = _post_orders(stack.base, orders[:5])

    # Downstream down: the outage lasts clock `outage` seconds.
    stack.stop_downstream()
    down_at = time.monotonic()
    phases["down"] = _post_orders(stack.base, orders[5:25], rate=20)
    time.sleep(max(0.0, down_at + clock.seconds("outage") - time.monotonic()))

    # Downstream back but slow: every fulfilment takes longer than the worker waits.
    stack.start_downstream(delay=clock.seconds("slow_response"))
    slow_at = time.monotonic()
    phases["slow"] = _post_orders(stack.base, orders[25:40], rate=10)
    time.sleep(max(0.0, slow_at + clock.seconds("outage") - time.monotonic()))

    # Recovered: the backlog must drain.
    stack.set_delay(0.0)
    recovered = time.monotonic()
    accepted = {r["order_id"] for rs in phases.values() for r in rs if 200 <= r["status"] < 300}

    def drained() -> bool:
        # Empty and nothing in flight: every accepted order was fulfilled or dropped.
        return _depth(ctx, url) == 0

    finished = ctx.runner.wait_until(drained, timeout=25, interval=0.3)
    drain_seconds = time.monotonic() - recovered
    worker_alive = stack.consumer is not None and stack.consumer.alive
    time.sleep(0.5)  # a late duplicate would show up now
    return {"run": run, "phases": phases, "accepted": sorted(accepted),
            "effects": _effects(ctx, run), "depth": _depth(ctx, url), "finished": finished,
            "drain_seconds": round(drain_seconds, 2), "worker_alive": worker_alive,
            "output": stack.outputs()}


def _phase_outcome(ctx: CheckContext, phase: str, what: str) -> Outcome:
    result = ctx.scenario("outage")
    replies = result["phases"][phase]
    ok = [r for r in replies if 200 <= r["status"] < 300]
    budget = ctx.clock.seconds("latency_budget")
    worst = p95([r["seconds"] for r in replies])
    fast = worst <= budget
    score = (0.5 if fast else 0.0) + 0.5 * len(ok) / len(replies)
    statuses = Counter(str(r["status"]) for r in replies)
    return partial(score, f"the frontend to accept all {len(replies)} orders with p95 <= "
                   f"{budget * 1000:.0f} ms while downstream is {what}",
                   f"{len(ok)} accepted, statuses {dict(statuses)}, p95 "
                   f"{worst * 1000:.0f} ms", p95_ms=round(worst * 1000, 1),
                   normal_p95_ms=round(p95([r["seconds"] for r in
                                            result["phases"]["normal"]]) * 1000, 1),
                   replies=replies[:5])


@check
def fast_while_down(ctx: CheckContext) -> Outcome:
    return _phase_outcome(ctx, "down", "down")


@check
def fast_while_slow(ctx: CheckContext) -> Outcome:
    slow = ctx.clock.seconds("slow_response")
    return _phase_outcome(ctx, "slow", f"slow ({slow:g} s per order)")


@check
def nothing_lost(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    sent = [r["order_id"] for rs in result["phases"].values() for r in rs]
    done = {e["order_id"] for e in result["effects"]}
    lost = [o for o in sent if o not in done]
    return partial((len(sent) - len(lost)) / len(sent),
                   f"all {len(sent)} orders fulfilled downstream after it recovered",
                   f"{len(sent) - len(lost)} fulfilled, {len(lost)} lost (refused by the "
                   "frontend, or deleted from the queue without being fulfilled)",
                   lost=lost[:8], worker_alive=result["worker_alive"],
                   output=result["output"])


@check
def exactly_once(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    counts = Counter(e["order_id"] for e in result["effects"])
    if not counts:
        return failed("each order fulfilled exactly once", "no order fulfilled at all",
                      output=result["output"])
    twice = {o: n for o, n in counts.items() if n > 1}
    return partial((len(counts) - len(twice)) / len(counts),
                   "each order fulfilled exactly once although SQS redelivered messages "
                   "(idempotency key)", f"{len(twice)} of {len(counts)} orders fulfilled "
                   "more than once" if twice else f"{len(counts)} orders, each once",
                   fulfilled_twice=dict(list(twice.items())[:8]),
                   keys_sent=sum(1 for e in result["effects"] if e.get("key")))


@check
def backlog_drained(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    return expect(result["finished"] and result["depth"] == 0,
                  f"the backlog drained and `{ctx.name('orders')}` empty within 25 s of "
                  "recovery", f"{result['depth']} messages left after "
                  f"{result['drain_seconds']} s" if not result["finished"] else
                  f"drained in {result['drain_seconds']} s, {result['depth']} left",
                  drain_seconds=result["drain_seconds"], worker_alive=result["worker_alive"])


@check
def contract_kept(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("outage")
    effects = result["effects"]
    if not effects:
        return failed("downstream to receive order.v1 bodies", "nothing reached it")
    bad = [e for e in effects if not e.get("contract_ok")]
    return partial((len(effects) - len(bad)) / len(effects),
                   "every body that reached downstream to be a valid order.v1 message",
                   f"{len(bad)} of {len(effects)} invalid" + (
                       f": {bad[0].get('problems')}" if bad else ""))


# --- step 4: a second consumer in Node.js ------------------------------------------------------

def _ensure_node_sdk(ctx: CheckContext) -> str:
    """'' when node/ can import @aws-sdk/client-sqs, else why not (the step is skipped)."""
    node_dir = ctx.workspace / "node"
    target = node_dir / "node_modules"
    if (target / "@aws-sdk" / "client-sqs").is_dir():
        return ""
    if not (node_dir / "package-lock.json").is_file():
        return "node/package-lock.json is missing from your workspace (tutor lab reset 01)"
    shipped = LAB_DIR / "starter" / "node" / "node_modules"
    if (shipped / "@aws-sdk" / "client-sqs").is_dir() and not target.exists():
        target.symlink_to(shipped, target_is_directory=True)  # installed by `make install`
        return ""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed, so the AWS SDK for JavaScript cannot be installed"
    proc = subprocess.Popen([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                            cwd=node_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "npm_config_update_notifier": "false"})
    try:
        out, _ = proc.communicate(timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=5)
        return (f"`npm ci` in node/ did not finish within {NPM_TIMEOUT:g} s (is the npm "
                "registry reachable?)")
    if proc.returncode != 0 or not (target / "@aws-sdk" / "client-sqs").is_dir():
        tail = out.decode(errors="replace").strip().splitlines()[-2:]
        return f"`npm ci` in node/ failed: {' '.join(tail)[:200]}"
    return ""


@scenario(timeout=90)
def node_flow(ctx: CheckContext) -> dict[str, Any]:
    if node_binary() is None:
        return {"skipped": "Node.js is not installed"}
    url = _require_queue(ctx)
    why = _ensure_node_sdk(ctx)
    if why:
        return {"skipped": why}
    ctx.client("sqs").purge_queue(QueueUrl=url)
    (ctx.workspace / "downstream.jsonl").unlink(missing_ok=True)
    run = uuid.uuid4().hex[:8]
    stack = _Stack(ctx, run)
    stack.start_frontend()
    stack.start_consumer("node/consumer.mjs")  # downstream is down at first
    replies = _post_orders(stack.base, [_order(run, n) for n in range(8)], threads=4)
    time.sleep(ctx.clock.seconds("visibility_timeout") + 0.5)  # failures, redeliveries
    stack.start_downstream()
    sent = {r["order_id"] for r in replies}

    def drained() -> bool:
        return sent <= {e["order_id"] for e in _effects(ctx, run)} and _depth(ctx, url) == 0

    finished = ctx.runner.wait_until(drained, timeout=15, interval=0.3)
    time.sleep(0.3)
    return {"run": run, "replies": replies, "effects": _effects(ctx, run),
            "finished": finished, "depth": _depth(ctx, url),
            "consumer_alive": bool(stack.consumer and stack.consumer.alive),
            "output": stack.outputs()}


@check
def node_fulfils_once(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("node_flow")
    if result.get("skipped"):
        return skipped(result["skipped"])
    sent = [r["order_id"] for r in result["replies"]]
    counts = Counter(e["order_id"] for e in result["effects"])
    once = [o for o in sent if counts.get(o) == 1]
    return partial(len(once) / len(sent), f"the Node.js consumer to fulfil all {len(sent)} "
                   "orders exactly once (downstream was down for the first seconds)",
                   f"{len(once)} fulfilled once, {sum(1 for o in sent if o not in counts)} "
                   f"never, {sum(1 for n in counts.values() if n > 1)} more than once",
                   consumer_alive=result["consumer_alive"],
                   consumer_output=result["output"].get("node/consumer.mjs", ""))


@check
def node_drains(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("node_flow")
    if result.get("skipped"):
        return skipped(result["skipped"])
    return expect(result["finished"] and result["depth"] == 0,
                  f"`{ctx.name('orders')}` empty: the Node.js consumer deletes what it "
                  "fulfilled", f"{result['depth']} messages left",
                  consumer_output=result["output"].get("node/consumer.mjs", ""))
