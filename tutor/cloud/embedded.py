"""LocalStack 4.14.0 in host mode, started and stopped by the tutor.

Two shapes share one launcher (`tutor.cloud.supervisor`):
- `EmbeddedLocalStack`: a child of this tutor on a free loopback port, gone when the
  tutor exits in any way;
- the background service of `tutor localstack up|down|status`, detached, recorded in a
  state file so that other tutor sessions and the learner's shell can share it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tutor import locations
from tutor.cloud.classroom import (
    LISTEN_ENV,
    advertised_host,
    bind_error,
    gateway_listen,
    validate_listen,
)
from tutor.cloud.endpoint import Endpoint, account, region
from tutor.cloud.health import LAB_SERVICES, OPTIONAL_SERVICES, Health, probe
from tutor.errors import TutorError

LOCALSTACK_VERSION = "4.14.0"
BOOT_TIMEOUT = 90.0
# Seconds between SQS metrics pushed to CloudWatch (AWS: 60). Labs on autoscaling and
# alarms need them every few seconds.
METRICS_INTERVAL = 5
# Environment variables of the user's shell that must never reach LocalStack or below.
_SCRUB_PREFIXES = ("AWS_", "LOCALSTACK_", "DOCKER_")
_SCRUB_NAMES = {"SERVICES", "GATEWAY_LISTEN", "EDGE_PORT", "PERSISTENCE", "DEBUG"}

Progress = Callable[[str], None]


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


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # A port whose old connections sit in TIME_WAIT (LocalStack just killed) is free
        # for LocalStack, which binds with SO_REUSEADDR; a listening socket still refuses.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def log_tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.rstrip().splitlines()[-lines:])


def check_runtime() -> None:
    """Refuse early, with the fix, when this Python cannot run LocalStack 4.14.0."""
    if sys.version_info < (3, 13):  # noqa: UP036 - run by a wrong interpreter on purpose
        raise TutorError(
            f"Python {sys.version.split()[0]} cannot run the embedded LocalStack (needs 3.13)",
            "Wrong Python",
            "recreate the environment with `make run` (it uses python3.13), or "
            "`pyenv install 3.13`",
        )
    if importlib.util.find_spec("localstack") is None:
        raise TutorError(
            "LocalStack is not installed in this environment", "Missing install",
            "run `make run` (or `pip install -c constraints.txt -e .`) from the checkout")


@dataclass
class _Launch:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path


def _launch(port: int, data: Path, *, detached: bool, listen: str = "") -> _Launch:
    check_runtime()
    log = data / "localstack.log"
    data.mkdir(parents=True, exist_ok=True)
    log.write_text("")  # one boot per log, so the tail we show is this boot's
    cmd = [sys.executable, "-m", "tutor.cloud.supervisor", "--port", str(port),
           "--data", str(data), "--log", str(log)]
    if detached:
        cmd.append("--detached")
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL if detached else subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Ctrl-C in the terminal reaches the tutor, which then stops LocalStack in order;
        # LocalStack does not get a SIGINT of its own mid-boot.
        start_new_session=True,
        cwd=data,
        # Only `service_up(listen=...)` opens LocalStack beyond loopback, never a stray
        # variable of the user's shell.
        env={**{k: v for k, v in os.environ.items() if k != LISTEN_ENV},
             **({LISTEN_ENV: listen} if listen else {})},
    )
    return _Launch(proc, port, log)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path,
                 progress: Progress | None = None, timeout: float = BOOT_TIMEOUT) -> Health:
    """Poll the health endpoint until every lab service answers; explain a failed boot."""
    start = time.monotonic()
    last = ""
    while True:
        health = probe(url, timeout=1.0)
        if health.ready:
            return health
        elapsed = time.monotonic() - start
        status = "starting services" if health.reachable else "booting"
        if progress and status != last:
            progress(f"LocalStack {status} on {url} ...")
            last = status
        if proc.poll() is not None:
            raise TutorError(
                f"LocalStack exited during boot (code {proc.returncode}); log tail:\n"
                f"{log_tail(log)}",
                "LocalStack failed to boot",
                f"read {log}; `tutor doctor` checks the install",
            )
        if elapsed > timeout:
            raise TutorError(
                f"LocalStack did not become healthy within {timeout:.0f} s; log tail:\n"
                f"{log_tail(log)}",
                "LocalStack failed to boot",
                f"read {log}; a slow machine may need TUTOR_BOOT_TIMEOUT=180",
            )
        time.sleep(0.1)


class EmbeddedLocalStack:
    """A LocalStack child process that lives exactly as long as this tutor process."""

    def __init__(self, data: Path | None = None, port: int | None = None) -> None:
        self.data = data or locations.localstack_dir() / "embedded"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._launch: _Launch | None = None
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
        self._launch = _launch(self.port, self.data, detached=False)
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


# --- the shared background service: `tutor localstack up|down|status` ----------------


def service_state() -> dict[str, object] | None:
    path = locations.service_state_file()
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def service_up(port: int | None = None, progress: Progress | None = None, *,
               listen: str | None = None, classroom: bool = False) -> Endpoint:
    """Start the shared background LocalStack (or return the running one).

    `listen="HOST[:PORT]"` also serves it on that address; a non-loopback one only with
    `classroom=True` (the explicit opt-in of `tutor localstack up --classroom`).
    """
    host, port = validate_listen(listen, classroom, port)
    state = service_state()
    if state and _pid_alive(int(str(state.get("pid", 0)))) and probe(str(state["url"])).ready:
        if host and state.get("listen") != host:
            raise TutorError(
                f"a LocalStack already runs at {state['url']}, not listening on {host}",
                "Already running", "stop it with `tutor localstack down`, then start it "
                "again with --listen")
        return Endpoint(str(state["url"]), "tutor localstack up", region(), account())
    if port is None:
        port = 4566 if port_is_free(4566) and (not host or bind_error(host, 4566) is None) \
            else free_port()
    if not port_is_free(port) or (host and host not in {"0.0.0.0", "::"}
                                  and bind_error(host, port) is not None):
        raise TutorError(f"Port {port} is already taken", "Port taken",
                         "stop what uses it, or run `tutor localstack up` without a port")
    data = locations.localstack_dir() / "service"
    launch = _launch(port, data, detached=True, listen=host)
    url = f"http://127.0.0.1:{port}"
    state = {"pid": launch.proc.pid, "port": port, "url": url, "log": str(launch.log),
             "started_at": time.time(), "version": LOCALSTACK_VERSION}
    if host:
        state.update({"listen": host,
                      "classroom_url": f"http://{advertised_host(host)}:{port}"})
    locations.service_state_file().write_text(json.dumps(state, indent=2))
    try:
        wait_healthy(url, launch.proc, launch.log, progress)
    except BaseException:
        service_down()
        raise
    return Endpoint(url, "tutor localstack up", region(), account())


def service_down(timeout: float = 20.0) -> bool:
    """Stop the background LocalStack; False when none was running."""
    state = service_state()
    path = locations.service_state_file()
    if not state:
        return False
    pid = int(str(state.get("pid", 0)))
    stopped = False
    if pid and _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.1)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        stopped = True
    path.unlink(missing_ok=True)
    return stopped


def _reap(pid: int) -> None:
    """Collect the watchdog if it is our own child (so it is not left a zombie)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
