"""How the tutor's LocalStack runs: the pinned version, its command and environment, and
the kinesis-mock it finds installed (or runs without Kinesis)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tutor.cloud.classroom import LISTEN_ENV, advertised_host, gateway_listen
from tutor.cloud.endpoint import region
from tutor.cloud.health import LAB_SERVICES, OPTIONAL_SERVICES

LOCALSTACK_VERSION = "4.14.0"
# Seconds between SQS metrics pushed to CloudWatch (AWS: 60). Labs on autoscaling and
# alarms need them every few seconds.
METRICS_INTERVAL = 5
# Environment variables of the user's shell that must never reach LocalStack or below.
_SCRUB_PREFIXES = ("AWS_", "LOCALSTACK_", "DOCKER_")
_SCRUB_NAMES = {"SERVICES", "GATEWAY_LISTEN", "EDGE_PORT", "PERSISTENCE", "DEBUG"}


LAMBDA_EXECUTOR = "tutor"  # our Docker-free Lambda executor (tutor.cloud.lambda_executor)


KINESIS_MOCK_VERSION = "0.5.2"  # what LocalStack 4.14's Kinesis asks for


def kinesis_mock_dir() -> Path:
    """Where `make install` puts kinesis-mock (npm `kinesis-local`, pinned by
    tutor/cloud/kinesis_mock/package-lock.json)."""
    return Path(sys.prefix) / "share" / "kinesis-local" / KINESIS_MOCK_VERSION


def kinesis_ready() -> str:
    """Why Kinesis cannot run here ("" when it can)."""
    import shutil

    if os.environ.get("TUTOR_KINESIS", "").strip().lower() in ("0", "no", "off", "false"):
        return "TUTOR_KINESIS=0 turns it off"
    if shutil.which("node") is None:
        return "Node.js is not installed (kinesis-mock runs on it)"
    if not (kinesis_mock_dir() / "node_modules" / "kinesis-local" / "main.js").is_file():
        return f"kinesis-mock is not installed in {kinesis_mock_dir()} (run `make install`)"
    return ""


def _link_kinesis_mock(data: Path) -> bool:
    """Make LocalStack find the installed kinesis-mock under this instance's own static
    libs (host layout: <data>/fs/usr/lib/localstack/kinesis-local/<version>)."""
    if kinesis_ready():
        return False
    link = data / "fs" / "usr" / "lib" / "localstack" / "kinesis-local" / KINESIS_MOCK_VERSION
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.resolve() == kinesis_mock_dir().resolve():
        return True
    if link.is_symlink() or link.is_file():
        link.unlink()
    if not link.exists():
        link.symlink_to(kinesis_mock_dir(), target_is_directory=True)
    return True


def localstack_command() -> list[str]:
    # TUTOR_LOCALSTACK_MODULE exists for the boot-failure tests (a module that fails).
    module = os.environ.get("TUTOR_LOCALSTACK_MODULE", "").strip() or "tutor.cloud.localstack_main"
    return [sys.executable, "-m", module]


def localstack_env(port: int, data: Path) -> dict[str, str]:
    """The environment LocalStack runs with: clean, local, lab-sized."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(_SCRUB_PREFIXES) and k not in _SCRUB_NAMES}
    data = data.resolve()
    listen = os.environ.get(LISTEN_ENV, "").strip()
    env.update({
        "GATEWAY_LISTEN": gateway_listen(listen, port),
        # Queue URLs carry this host: in a classroom, the address learners reach.
        "LOCALSTACK_HOST": f"{advertised_host(listen) if listen else '127.0.0.1'}:{port}",
        "SERVICES": ",".join(LAB_SERVICES + (OPTIONAL_SERVICES if _link_kinesis_mock(data)
                                             else ())),
        "LOCALSTACK_VOLUME_DIR": str(data / "volume"),
        "FILESYSTEM_ROOT": str(data / "fs"),
        # LocalStack takes any machine with /.dockerenv (CI runners, dev containers) for
        # its own container and then ignores FILESYSTEM_ROOT, sharing /var/lib/localstack
        # with every other LocalStack there. The host layout keeps all of it under `data`.
        "OVERRIDE_IN_DOCKER": "0",
        "CONFIG_DIR": str(data / "config"),
        "TMPDIR": str(data / "tmp"),
        "TUTOR_S3_STORAGE_DIR": str(data / "tmp" / "s3-storage"),
        # Fault plans and measurements of Lambda handlers (lambda_executor.environ).
        "TUTOR_FAULTS_DIR": str(data / "faults"),
        "SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL": str(METRICS_INTERVAL),
        "SQS_ENDPOINT_STRATEGY": "path",
        # kinesis-mock keeps streams in memory only: nothing for the labs to persist.
        "KINESIS_PERSISTENCE": "0",
        # Offline machine: no certificate download, no DNS server, no analytics.
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DNS_ADDRESS": "0",
        "DISABLE_EVENTS": "1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": region(),
    })
    env["LAMBDA_RUNTIME_EXECUTOR"] = LAMBDA_EXECUTOR
    # LocalStack's SQS event source mapping sleeps 1 s after every poll (one batch a second)
    # and backs off up to 10 s when idle; labs need it to react within a second.
    env["LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC"] = "0.1"
    env["LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC"] = "1"
    for sub in ("volume", "fs", "config", "tmp", "faults"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    return env
