"""`tutor doctor`: every fact needed to tell why the tutor does not work, with the fix."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tutor import locations
from tutor.cloud.endpoint import Endpoint
from tutor.cloud.health import LAB_SERVICES, probe

PACKAGES = ("textual", "rich", "boto3", "botocore", "localstack-core", "localstack-client",
            "pydantic", "pyyaml", "fsrs", "awscli", "awscli-local")


@dataclass
class Probe:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass
class Report:
    probes: list[Probe] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.probes)

    def add(self, name: str, ok: bool, detail: str, fix: str = "") -> None:
        self.probes.append(Probe(name, ok, detail, fix))

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "probes": [asdict(p) for p in self.probes]}


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_install(report: Report) -> None:
    py = sys.version_info
    report.add("python", py[:2] == (3, 13),
               f"Python {platform.python_version()} at {sys.executable}",
               "" if py[:2] == (3, 13) else "recreate .venv with Python 3.13: `make clean run`")
    missing = [name for name in PACKAGES if _version(name) is None]
    versions = ", ".join(f"{n} {_version(n)}" for n in PACKAGES if n not in missing)
    report.add("packages", not missing,
               versions + (f"; missing: {', '.join(missing)}" if missing else ""),
               "run `make install` (installs exactly constraints.txt)" if missing else "")
    ls_version = _version("localstack-core")
    report.add("localstack-core", ls_version == "4.14.0",
               f"localstack-core {ls_version or 'not installed'} (pinned 4.14.0)",
               "" if ls_version == "4.14.0" else "run `make install` to get the pinned 4.14.0")


def check_locations(report: Report, store_warning: str | None) -> None:
    report.add("data", True, f"data {locations.data_dir()}; workspace "
               f"{locations.workspace_root()}; progress {locations.progress_db()}")
    if store_warning:
        report.add("progress", False, store_warning, "see the message above")
    else:
        report.add("progress", True, f"progress store readable at {locations.progress_db()}")


def check_learner(report: Report) -> None:
    from tutor.engine.learner import current

    learner = current()
    report.add("learner", True,
               f"{learner.id} (LocalStack account {learner.account})" if learner.id else
               f"none set (LocalStack's default account {learner.account}); in a classroom: "
               "`tutor learner set ID`")


def check_trace(report: Report, endpoint: Endpoint) -> None:
    """The SQS lifecycle recorder behind the dashboard's rates and the message timeline."""
    from tutor.engine.observe.trace import fetch

    try:
        batch = fetch(endpoint, since=0, limit=1)
    except Exception as exc:  # reported, never raised: doctor lists every problem
        report.add("sqs-trace", True, f"could not ask: {exc}")
        return
    report.add("sqs-trace", True, "recording (dashboard rates, oldest message, timeline)"
               if batch.available else f"not available — {batch.reason}; the dashboard "
               "shows n/a for rates and the timeline is off")


def check_endpoint(report: Report, endpoint: Endpoint | None,
                   lambda_probe: Callable[[Endpoint], tuple[bool, str]] | None) -> None:
    if endpoint is None:
        report.add("endpoint", True, "no LocalStack running now; `tutor` starts an embedded "
                   "one when it opens (or run `tutor localstack up` to share one)")
        return
    health = probe(endpoint.url, timeout=2.0)
    report.add("endpoint", health.reachable, f"{endpoint.url} (chosen by: {endpoint.source})"
               + ("" if health.reachable else f" — {health.error}"),
               "" if health.reachable else "start it with `tutor localstack up`, or unset "
               "AWS_ENDPOINT_URL / --endpoint to let the tutor start one")
    if not health.reachable:
        return
    report.add("localstack-version", health.version.startswith("4.14"),
               f"LocalStack {health.version or '?'}",
               "" if health.version.startswith("4.14") else
               "labs are proven on 4.14.0: `docker run -p 4566:4566 localstack/localstack:4.14.0`")
    for service in LAB_SERVICES:
        state = health.services.get(service, "absent")
        good = state in {"available", "running"}
        report.add(f"service {service}", good, state,
                   "" if good else f"start LocalStack with SERVICES including {service}")
    check_kinesis(report, health.services.get("kinesis", "absent"))
    check_trace(report, endpoint)
    check_clis(report, endpoint)
    if lambda_probe is not None:
        ok, detail = lambda_probe(endpoint)
        report.add("lambda", ok, detail, "" if ok else
                   "functions cannot run here: the labs on Lambda will fail; use the tutor's "
                   "embedded LocalStack (it runs Python handlers without Docker)")


def check_kinesis(report: Report, state: str) -> None:
    """Kinesis (lab 11) needs kinesis-mock, installed by `make install`, and Node.js."""
    from tutor.cloud.embedded import kinesis_mock_dir, kinesis_ready

    why = kinesis_ready()
    if state in {"available", "running"}:
        report.add("service kinesis", True, f"{state} (kinesis-mock in {kinesis_mock_dir()})"
                   if not why else state)
    else:
        # Optional: only the SQS vs SNS vs Kinesis lab needs it, so it never fails doctor.
        report.add("service kinesis", True, f"not started ({why or state}); the SQS vs SNS "
                   "vs Kinesis lab says why it cannot run")


CLI_TIMEOUT = 25.0


def _cli_commands(endpoint: Endpoint) -> list[tuple[str, list[str]]]:
    """(label, argv) of each AWS CLI the learner's shell gets from the tutor's venv."""
    bin_dir = Path(sys.executable).parent
    found: list[tuple[str, list[str]]] = []
    awslocal = shutil.which("awslocal", path=str(bin_dir)) or shutil.which("awslocal")
    if awslocal:
        found.append(("awslocal", [awslocal, "sqs", "list-queues"]))
    aws = shutil.which("aws", path=str(bin_dir)) or shutil.which("aws")
    if aws:
        found.append(("aws --endpoint-url", [aws, "--endpoint-url", endpoint.url, "sqs",
                                             "list-queues"]))
    return found


def check_clis(report: Report, endpoint: Endpoint) -> None:
    """Does each AWS CLI reach this LocalStack with the environment `tutor env` gives?"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(endpoint.env())
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    commands = _cli_commands(endpoint)
    if not commands:
        report.add("aws-cli", False, "neither `awslocal` nor `aws` is installed",
                   "run `make install` (it installs the AWS CLI and awslocal)")
        return
    for label, argv in commands:
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True,
                                  timeout=CLI_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            report.add(f"cli {label}", False, f"`{label} sqs list-queues` did not answer: {exc}",
                       'run `eval "$(tutor env)"` first; see the README "Your own shell"')
            continue
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        report.add(f"cli {label}", done.returncode == 0,
                   f"`{label} sqs list-queues` reaches {endpoint.url}" if done.returncode == 0
                   else f"`{label} sqs list-queues` failed: {tail[0][:200]}",
                   "" if done.returncode == 0 else "run `make install`, then "
                   '`eval "$(tutor env)"` in your shell')
    report.add("cli note", True, "plain `aws sqs ...` (AWS CLI v1) ignores AWS_ENDPOINT_URL for "
               "SQS and goes to real AWS: use `awslocal` or `aws --endpoint-url ...`")


def find_lambda_probe() -> Callable[[Endpoint], tuple[bool, str]]:
    """The executor's probe: create, invoke and delete a trivial function."""
    # Import the submodule itself: importing it rebinds the package attribute `probe`.
    from tutor.cloud.lambda_executor.probe import run

    return lambda endpoint: run(endpoint, 20.0)


def run(endpoint: Endpoint | None, store_warning: str | None = None) -> Report:
    report = Report()
    check_install(report)
    check_locations(report, store_warning)
    check_learner(report)
    check_endpoint(report, endpoint, find_lambda_probe())
    return report
