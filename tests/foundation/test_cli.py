"""The CLI: fast help, one-line errors with a fix, doctor on healthy and broken set-ups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tutor.cloud.endpoint import Endpoint

TUTOR = [sys.executable, "-m", "tutor"]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TUTOR, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("localstack", "env", "doctor"):
        assert command in result.stdout


def test_remote_endpoint_is_one_line_error_without_traceback() -> None:
    result = run("--endpoint", "https://sqs.us-east-1.amazonaws.com", "env")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: Refusing to send AWS requests")
    assert "Traceback" not in result.stderr


def test_engine_and_cloud_import_without_textual() -> None:
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        import tutor.engine, tutor.cloud
        for pkg in (tutor.engine, tutor.cloud):
            for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
                if "lambda_executor" in mod.name:  # loaded by LocalStack, not by the tutor
                    continue
                importlib.import_module(mod.name)
        assert "textual" not in sys.modules, sorted(m for m in sys.modules if "textual" in m)
        print("headless")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "headless"


@pytest.mark.localstack
def test_doctor_on_a_healthy_setup(localstack: Endpoint) -> None:
    result = run("--endpoint", localstack.url, "doctor", "--json")
    report = json.loads(result.stdout)
    failed = [p for p in report["probes"] if not p["ok"]]
    assert result.returncode == 0, failed
    names = {p["name"] for p in report["probes"]}
    assert {"python", "packages", "endpoint", "service sqs", "service lambda", "lambda"} <= names
    lam = next(p for p in report["probes"] if p["name"] == "lambda")
    assert lam["ok"], lam
    endpoint = next(p for p in report["probes"] if p["name"] == "endpoint")
    assert "--endpoint" in endpoint["detail"]


def test_doctor_on_a_broken_setup_says_how_to_fix_it() -> None:
    result = run("--endpoint", "http://127.0.0.1:9", "doctor", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    endpoint = next(p for p in report["probes"] if p["name"] == "endpoint")
    assert not endpoint["ok"]
    assert "tutor localstack up" in endpoint["fix"]


def test_doctor_reports_a_corrupt_progress_file(tmp_path: object) -> None:
    home = os.environ["TUTOR_HOME"]
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "progress.db"), "wb") as fh:
        fh.write(b"garbage" * 500)
    result = run("--endpoint", "http://127.0.0.1:9", "doctor", "--json")
    report = json.loads(result.stdout)
    progress = next(p for p in report["probes"] if p["name"] == "progress")
    assert not progress["ok"] and "was kept as" in progress["detail"]
    assert any(name.startswith("progress.db.corrupt-") for name in os.listdir(home))
