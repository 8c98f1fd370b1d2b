"""Lambda handlers in the sandbox (lambda_executor/confine.py): a handler is learner code.

One private LocalStack started with TUTOR_SANDBOX=1, as `tutor serve` starts the shared
one; a handler tries what a hostile learner's would, and does the work a lab's does.
"""

from __future__ import annotations

import json
import os
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tutor import sandbox
from tutor.cloud import clients
from tutor.cloud.embedded import EmbeddedLocalStack

from .helpers import ROLE, invoke, source_zip, unique, wait_for, wait_state

pytestmark = [
    pytest.mark.localstack, pytest.mark.slow,
    pytest.mark.skipif(bool(sandbox.problem()) and not os.environ.get("CI"),
                       reason=f"no sandbox on this machine: {sandbox.problem()}"),
]

ATTACK = textwrap.dedent("""
    import json, os, socket, subprocess, boto3

    def attempt(what):
        try:
            return "done: " + str(what())[:80]
        except Exception as exc:
            return "refused: " + type(exc).__name__

    def handler(event, context):
        found = {}
        found["secret"] = attempt(lambda: open(event["secret"]).read())
        found["listing"] = attempt(lambda: os.listdir(event["workspaces"]))
        found["write_out"] = attempt(lambda: open(event["outside"], "w").write("x"))
        found["code_write"] = attempt(
            lambda: open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "x.py"), "w").write("x"))
        found["tmp_write"] = attempt(
            lambda: open(os.path.join(os.environ["TMPDIR"], "t.txt"), "w").write("ok"))
        found["host_port"] = attempt(
            lambda: socket.create_connection(("127.0.0.1", event["port"]), timeout=2))
        home = os.environ["HOME"]  # its working directory, among other functions' ones
        found["neighbours"] = attempt(lambda: os.listdir(os.path.dirname(home)))
        found["home"] = os.path.basename(home)
        found["memory"] = attempt(lambda: len(bytearray(2 << 30)))
        found["environ"] = sorted(os.environ)
        found["processes"] = sorted(p for p in os.listdir("/proc") if p.isdigit())
        found["queues"] = attempt(
            lambda: boto3.client("sqs").create_queue(QueueName=event["queue"])["QueueUrl"])
        background = "sleep 300 >/dev/null 2>&1 & echo $!"
        found["child"] = attempt(lambda: subprocess.run(
            ["sh", "-c", background], capture_output=True, text=True).stdout)
        return found
""")


@pytest.fixture(scope="module")
def confined() -> Iterator[EmbeddedLocalStack]:
    """A LocalStack whose handlers run sandboxed, with a host secret in its environment."""
    patch = pytest.MonkeyPatch()
    patch.setenv(sandbox.SANDBOX_ENV, "1")
    patch.setenv("GITHUB_TOKEN", "ghp_not_for_handlers")
    import tempfile

    embedded = EmbeddedLocalStack(data=Path(tempfile.mkdtemp(prefix="tutor-confined-ls-")))
    try:
        embedded.start()
        yield embedded
    finally:
        embedded.stop()
        patch.undo()


def _listener() -> tuple[socket.socket, list[str]]:
    """A port on this machine's loopback that records who reached it."""
    server = socket.create_server(("127.0.0.1", 0))
    reached: list[str] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            reached.append("someone")
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    return server, reached


def _function(lam: Any, source: str, timeout: int = 20) -> str:
    name = unique("confined")
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                        Handler="attack.handler", Timeout=timeout,
                        Code={"ZipFile": source_zip("attack.py", source)})
    wait_state(lam, name)
    return name


def test_a_handler_reaches_localstack_and_nothing_else(confined: EmbeddedLocalStack,
                                                       tmp_path: Path) -> None:
    secret = tmp_path / "other-learner" / "notes.txt"
    secret.parent.mkdir()
    secret.write_text("another learner's work")
    outside = tmp_path / "planted.txt"
    server, reached = _listener()
    lam = clients.client("lambda", confined.endpoint, read_timeout=60)
    before = {p.pid for p in psutil.process_iter()}
    try:
        name = _function(lam, ATTACK)
        queue = unique("confined-q")
        reply, found = invoke(lam, name, {
            "secret": str(secret), "workspaces": str(tmp_path), "outside": str(outside),
            "port": server.getsockname()[1], "queue": queue})
    finally:
        server.close()
    assert "FunctionError" not in reply, found
    assert found["secret"].startswith("refused"), found["secret"]
    assert found["listing"].startswith("refused"), found["listing"]
    assert found["write_out"].startswith("refused") and not outside.exists()
    assert found["code_write"].startswith("refused"), found["code_write"]  # /var/task is ro
    assert found["tmp_write"] == "done: 2"  # its own TMPDIR works
    assert found["host_port"].startswith("refused") and not reached, found["host_port"]
    assert found["neighbours"] == f"done: {[found['home']]}", found["neighbours"]
    assert found["memory"] == "refused: MemoryError", found["memory"]  # 1 GiB at most
    assert "GITHUB_TOKEN" not in found["environ"]
    assert len(found["processes"]) < 10, found["processes"]  # only its own sandbox's
    # Its own AWS calls work, in its account, through the sandbox's relay.
    assert found["queues"].startswith("done: ") and queue in found["queues"], found["queues"]
    sqs = clients.client("sqs", confined.endpoint)
    assert any(u.endswith(queue) for u in sqs.list_queues(QueueNamePrefix=queue)
               .get("QueueUrls", []))
    # The REPORT line measures the runtime inside the sandbox, not bubblewrap.
    logs = lam.invoke(FunctionName=name, Payload=json.dumps({
        "secret": "/nope", "workspaces": "/nope", "outside": "/nope/x", "port": 9,
        "queue": queue}), LogType="Tail")
    import base64

    report = base64.b64decode(logs["LogResult"]).decode()
    used = int(report.split("Max Memory Used: ")[1].split(" MB")[0])
    assert used >= 20, report
    # Deleting the function ends its sandbox: the background `sleep 300` goes with it.
    lam.delete_function(FunctionName=name)
    wait_for(lambda: not [p for p in psutil.process_iter(["cmdline"])
                          if p.pid not in before and "sleep" in (p.info["cmdline"] or [])
                          and "300" in (p.info["cmdline"] or [])],
             15, "the handler's background child to go with its sandbox")


def test_a_timed_out_handler_is_killed_and_the_next_invoke_works(
        confined: EmbeddedLocalStack) -> None:
    lam = clients.client("lambda", confined.endpoint, read_timeout=60)
    source = textwrap.dedent("""
        import time
        count = 0
        def handler(event, context):
            global count
            count += 1
            time.sleep(event.get("sleep", 0))
            return count
    """)
    name = _function(lam, source, timeout=1)
    try:
        reply, body = invoke(lam, name, {"sleep": 30})
        assert reply["FunctionError"] == "Unhandled"
        assert "Task timed out after 1.00 seconds" in body["errorMessage"]
        reply, body = invoke(lam, name)
        assert "FunctionError" not in reply and body == 1, body  # a fresh environment
    finally:
        lam.delete_function(FunctionName=name)


@pytest.mark.timeout(600)
def test_a_lambda_lab_passes_with_its_handler_sandboxed(confined: EmbeddedLocalStack) -> None:
    """Lab 06 (batching, partial batch responses, concurrency, measured from the handler's
    logs and fault hook) proves itself with its handler sandboxed: the starter fails, the
    reference solution passes, the reset is clean. (Its programs run as the suite runs
    them: TUTOR_SANDBOX set here would reach the other labs proving at the same time.)"""
    from tutor.engine.labs.loader import get_lab
    from tutor.engine.labs.selftest import selftest_lab

    result = selftest_lab(get_lab("06"), confined.endpoint)
    assert result.ok, "\n".join(result.problems)
