"""Booting one LocalStack: the runtime check, loopback ports, the launch through the
watchdog (`tutor.cloud.supervisor`), and waiting until every lab service answers."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tutor.cloud.classroom import LISTEN_ENV
from tutor.cloud.health import Health, probe
from tutor.errors import TutorError

BOOT_TIMEOUT = 90.0

Progress = Callable[[str], None]


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
class Launch:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path


def launch_localstack(port: int, data: Path, *, detached: bool, listen: str = "") -> Launch:
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
    return Launch(proc, port, log)


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
