"""Environments end with their function and with LocalStack: no orphan processes."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest

from tutor.cloud import clients
from tutor.cloud.embedded import EmbeddedLocalStack

from .helpers import ROLE, gone, handler_zip, invoke, unique, wait_for, wait_state

pytestmark = pytest.mark.localstack
RUNTIME_MODULE = "tutor.cloud.lambda_executor.runtime"


def runtimes_of(port: int) -> list[psutil.Process]:
    """Every runtime process (anywhere on the machine) that calls back to this port."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if RUNTIME_MODULE not in (proc.info["cmdline"] or []):
            continue
        try:
            endpoint = proc.environ().get("LOCALSTACK_RUNTIME_ENDPOINT", "")
            if f":{port}/" in endpoint and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_delete_function_stops_its_environments(lam, make_function, localstack):
    name = make_function(handler_zip("basic.py"))
    with ThreadPoolExecutor(3) as pool:
        bodies = list(pool.map(lambda _: invoke(lam, name, {"sleep": 0.6})[1], range(3)))
    pids = {body["pid"] for body in bodies}
    assert len(pids) >= 2  # concurrency got environments of their own
    lam.delete_function(FunctionName=name)
    wait_for(lambda: all(gone(pid) for pid in pids), 10, f"runtimes {pids} to stop")


def _start_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   keepalive_ms: str) -> EmbeddedLocalStack:
    # The private LocalStack inherits these: a short keepalive, and a host secret that
    # must not reach handlers.
    monkeypatch.setenv("LAMBDA_KEEPALIVE_MS", keepalive_ms)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_not_for_handlers")
    embedded = EmbeddedLocalStack(data=tmp_path / "private-localstack")
    embedded.start()
    return embedded


def _function(lam: Any) -> str:
    name = unique("private")
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                        Handler="basic.handler", Code={"ZipFile": handler_zip("basic.py")})
    wait_state(lam, name)
    return name


@pytest.mark.slow
def test_retired_and_shutdown_environments_leave_no_process(tmp_path, monkeypatch):
    embedded = _start_private(tmp_path, monkeypatch, keepalive_ms="1500")
    try:
        lam = clients.client("lambda", embedded.endpoint, read_timeout=60)
        name = _function(lam)
        _, body = invoke(lam, name)
        assert "GITHUB_TOKEN" not in body["environ"]
        first = body["pid"]
        # Same process group as LocalStack, so the watchdog's killpg covers it too.
        localstack_pid = psutil.Process(first).ppid()
        assert os.getpgid(first) == os.getpgid(localstack_pid)
        # LocalStack retires an idle environment after LAMBDA_KEEPALIVE_MS.
        wait_for(lambda: gone(first), 15, "the idle environment to be retired")
        _, body = invoke(lam, name)
        second = body["pid"]
        assert second != first and body["count"] == 1
    finally:
        embedded.stop()
    wait_for(lambda: gone(second), 10, "the environment to stop with LocalStack")
    assert runtimes_of(embedded.port) == []


@pytest.mark.slow
def test_killed_localstack_takes_its_environments_along(tmp_path, monkeypatch):
    embedded = _start_private(tmp_path, monkeypatch, keepalive_ms="600000")
    try:
        lam = clients.client("lambda", embedded.endpoint, read_timeout=60)
        name = _function(lam)
        with ThreadPoolExecutor(2) as pool:
            bodies = list(pool.map(lambda _: invoke(lam, name, {"sleep": 0.5})[1], range(2)))
        pids = {body["pid"] for body in bodies}
        localstack_pid = psutil.Process(next(iter(pids))).ppid()
        os.kill(localstack_pid, signal.SIGKILL)
        wait_for(lambda: all(gone(pid) for pid in pids), 10, "runtimes to die with LocalStack")
        assert runtimes_of(embedded.port) == []
    finally:
        embedded.stop()
