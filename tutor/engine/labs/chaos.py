"""Chaos actions a lab defines (poison message, burst, stop a consumer), each one line back."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path
from string import Template
from typing import Any

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.loader import Lab
from tutor.engine.labs.model import ChaosAction
from tutor.errors import TutorError, from_boto

SIGNALS = {"term": signal.SIGTERM, "kill": signal.SIGKILL}


def action(lab: Lab, action_id: str) -> ChaosAction:
    for candidate in lab.spec.chaos:
        if candidate.id == action_id:
            return candidate
    known = ", ".join(a.id for a in lab.spec.chaos) or "none"
    raise TutorError(f"Lab {lab.id} has no chaos action `{action_id}`", "Unknown action",
                     f"actions of this lab: {known}")


def body_maker(template: str, default: str = '{"seq": $i, "run": "$run"}') -> Any:
    """A function of the message number giving the body ($i, $run, $now filled in)."""
    compiled = Template(template or default)
    run, now = uuid.uuid4().hex[:6], time.time()

    def make(index: int) -> str:
        return compiled.substitute(i=index, run=run, now=f"{now:.3f}")

    return make


def _queue_url(lab: Lab, endpoint: Endpoint, suffix: str) -> str:
    from tutor.cloud.clients import client

    name = f"{lab.prefix}{suffix}"
    try:
        return str(client("sqs", endpoint, read_timeout=5.0).get_queue_url(
            QueueName=name)["QueueUrl"])
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
            raise TutorError(f"The queue `{name}` does not exist yet", "No such queue",
                             "create it first (the lab's infra.py)") from exc
        raise from_boto(exc, endpoint.url) from exc


def _with_note(text: str, chosen: ChaosAction) -> str:
    return f"{text} — {chosen.note}" if chosen.note else text


def poison(lab: Lab, chosen: ChaosAction, endpoint: Endpoint) -> str:
    from tutor.cloud.clients import client

    url = _queue_url(lab, endpoint, chosen.queue)
    name = url.rsplit("/", 1)[-1]
    params: dict[str, Any] = {"QueueUrl": url, "MessageBody": body_maker(chosen.body)(0)}
    if name.endswith(".fifo"):
        params["MessageGroupId"] = chosen.group or "chaos"
        params["MessageDeduplicationId"] = uuid.uuid4().hex  # never dropped as a duplicate
    try:
        sent = client("sqs", endpoint, read_timeout=5.0).send_message(**params)
    except Exception as exc:
        raise from_boto(exc, endpoint.url) from exc
    return _with_note(f"Poison message {sent['MessageId'][:8]} sent to {name}", chosen)


def burst(lab: Lab, chosen: ChaosAction, endpoint: Endpoint) -> str:
    from tutor.engine.labs.burst_process import burst_elsewhere

    url = _queue_url(lab, endpoint, chosen.queue)
    name = url.rsplit("/", 1)[-1]
    if name.endswith(".fifo"):
        raise TutorError(f"A burst into the FIFO queue `{name}` is not supported",
                         "FIFO queue", "burst into a standard queue")
    # Not from threads of this process: the screen would answer keys late while it runs.
    result = burst_elsewhere(endpoint, url, chosen.count, body=body_maker(chosen.body))
    if result.sent == 0:
        why = result.errors[0] if result.errors else "no message was accepted"
        raise TutorError(f"The burst to {name} failed: {why}", "Burst failed",
                         "is LocalStack running? (the status bar says)")
    failed = f", {result.failed} failed" if result.failed else ""
    return _with_note(f"Burst: {result.sent} messages to {name} in {result.seconds:.1f} s "
                      f"({result.rate:,.0f}/s){failed}", chosen)


def stop_consumer(lab: Lab, chosen: ChaosAction, workspace: Path | None = None) -> str:
    """Signal the newest running copy of the lab's consumer program (like a scale-in or a
    crash); refuses when none runs, since there is nothing real to stop."""
    import psutil

    from tutor.engine.labs.dashboard import running_programs
    from tutor.engine.labs.workspace import workspace_dir

    where = workspace or workspace_dir(lab)
    procs = running_programs(where, chosen.script)
    if not procs:
        raise TutorError(f"No `{chosen.script}` is running in {where}", "No consumer",
                         "start the lab's programs first (see the step text)")
    victim = procs[-1]  # the newest, like a default termination policy
    sig = SIGNALS[chosen.signal]
    try:
        victim.send_signal(sig)
    except psutil.NoSuchProcess:
        raise TutorError(f"`{chosen.script}` (pid {victim.pid}) exited just now",
                         "No consumer", "try again") from None
    except psutil.AccessDenied as exc:
        raise TutorError(f"Not allowed to signal pid {victim.pid}", "Not allowed",
                         "it is not your process") from exc
    with_sig = "SIGKILL" if sig == signal.SIGKILL else "SIGTERM"
    return _with_note(f"{with_sig} sent to {chosen.script} pid {victim.pid} "
                      f"({len(procs) - 1} other copies running)", chosen)


def run_chaos(lab: Lab, action_id: str, endpoint: Endpoint, *,
              workspace: Path | None = None) -> str:
    """Do the lab's chaos action `action_id`; returns one line, raises TutorError."""
    chosen = action(lab, action_id)
    if chosen.kind == "poison":
        return poison(lab, chosen, endpoint)
    if chosen.kind == "burst":
        return burst(lab, chosen, endpoint)
    return stop_consumer(lab, chosen, workspace)
