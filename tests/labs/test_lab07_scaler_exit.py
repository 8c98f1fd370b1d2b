"""Lab 07's processes end with it: killing the scaler leaves no worker behind."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import psutil
import pytest

from tutor.engine.labs.loader import load_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "07-queue-depth-scaling"


def workers_left(root: Path) -> list[psutil.Process]:
    """worker.py or scaler.py processes started from `root` that are still alive."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if str(root) in cmd and ("worker.py" in cmd or "scaler.py" in cmd) \
                and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


@pytest.mark.localstack
@pytest.mark.timeout(120)
def test_lab07_workers_exit_when_the_scaler_is_killed(localstack, tmp_path: Path) -> None:
    """SIGKILL on the scaler alone (no chance to clean up): its workers still go away."""
    import json
    import os
    import signal
    import subprocess
    import sys

    from tutor.engine.labs.namespace import Namespace
    from tutor.engine.labs.scenario import ScenarioRunner
    from tutor.engine.labs.solution import apply_solution
    from tutor.engine.labs.workspace import reset_workspace

    lab = load_lab(LAB)
    workspace = reset_workspace(lab, tmp_path)
    proc = None
    try:
        apply_solution(lab, localstack, workspace)
        env = ScenarioRunner(lab.id, lab.prefix, localstack, workspace).env()
        proc = subprocess.Popen([sys.executable, "scaler.py", "--duration", "60"], cwd=workspace,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        log = workspace / "scaling-log.jsonl"
        deadline = time.monotonic() + 20
        started: list[int] = []
        while time.monotonic() < deadline and not started:
            time.sleep(0.3)
            if log.exists():
                started = [json.loads(line)["pid"] for line in log.read_text().splitlines()
                           if '"consumer_start"' in line]
        assert started, "the scaler started no consumer"
        time.sleep(1.5)  # the worker is in its receive loop
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and workers_left(tmp_path):
            time.sleep(0.3)
        assert workers_left(tmp_path) == []
    finally:
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        Namespace(lab.prefix, localstack).delete()
