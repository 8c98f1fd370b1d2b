"""LocalStack 4.14.0 in host mode, started and stopped by the tutor.

Two shapes share one launcher (`tutor.cloud.supervisor`, booted by `localstack_boot` with
the command and environment of `localstack_config`):
- `EmbeddedLocalStack` (here): a child of this tutor on a free loopback port, gone when
  the tutor exits in any way;
- the background service of `tutor localstack up|down|status` (`localstack_service`),
  detached, recorded in a state file so that other tutor sessions and the learner's
  shell can share it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

from tutor import locations
from tutor.cloud.endpoint import Endpoint, account, region
from tutor.cloud.localstack_boot import (
    BOOT_TIMEOUT,
    Launch,
    Progress,
    check_runtime,
    free_port,
    launch_localstack,
    log_tail,
    port_is_free,
    wait_healthy,
)
from tutor.cloud.localstack_config import (
    KINESIS_MOCK_VERSION,
    LAMBDA_EXECUTOR,
    LOCALSTACK_VERSION,
    METRICS_INTERVAL,
    kinesis_mock_dir,
    kinesis_ready,
    localstack_command,
    localstack_env,
)
from tutor.cloud.localstack_service import service_down, service_state, service_up
from tutor.errors import TutorError

# The names callers import from here, wherever they are defined.
__all__ = [
    "BOOT_TIMEOUT",
    "KINESIS_MOCK_VERSION",
    "LAMBDA_EXECUTOR",
    "LOCALSTACK_VERSION",
    "METRICS_INTERVAL",
    "EmbeddedLocalStack",
    "Progress",
    "check_runtime",
    "free_port",
    "kinesis_mock_dir",
    "kinesis_ready",
    "localstack_command",
    "localstack_env",
    "log_tail",
    "port_is_free",
    "service_down",
    "service_state",
    "service_up",
    "wait_healthy",
]


class EmbeddedLocalStack:
    """A LocalStack child process that lives exactly as long as this tutor process."""

    def __init__(self, data: Path | None = None, port: int | None = None) -> None:
        self.data = data or locations.localstack_dir() / "embedded"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._launch: Launch | None = None
        self._record: Path | None = None

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.url, "embedded (started by tutor)", region(), account())

    @property
    def pid(self) -> int | None:
        """The watchdog's pid (LocalStack runs as its child)."""
        return self._launch.proc.pid if self._launch else None

    def start(self, progress: Progress | None = None) -> Endpoint:
        if self._launch is not None:
            return self.endpoint
        if not port_is_free(self.port):
            raise TutorError(f"Port {self.port} on 127.0.0.1 is already taken",
                             "Port taken",
                             "stop what uses it, or let the tutor pick a free port")
        if progress:
            progress(f"Starting LocalStack {LOCALSTACK_VERSION} on {self.url} ...")
        self._launch = launch_localstack(self.port, self.data, detached=False)
        timeout = float(os.environ.get("TUTOR_BOOT_TIMEOUT", BOOT_TIMEOUT))
        try:
            wait_healthy(self.url, self._launch.proc, self._launch.log, progress, timeout)
        except BaseException:
            self.stop()
            raise
        self._record = locations.sessions_dir() / f"{os.getpid()}-{self.port}.json"
        self._record.write_text(json.dumps({"url": self.url, "pid": os.getpid(),
                                            "watchdog": self.pid}))
        return self.endpoint

    def stop(self, timeout: float = 20.0, wait: bool = True) -> None:
        """Close the watchdog's stdin: it then stops LocalStack's whole process group.

        `wait=True` waits for the watchdog to finish (tests, `tutor doctor --start`).
        """
        launch, self._launch = self._launch, None
        if self._record is not None:
            self._record.unlink(missing_ok=True)
            self._record = None
        if launch is None:
            return
        proc = launch.proc
        if proc.stdin:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if not wait:
            return
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def __enter__(self) -> EmbeddedLocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
