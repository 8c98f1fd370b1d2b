"""Run `tutor serve` as a real subprocess on a free loopback port, bounded, and stop it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

START_TIMEOUT = 30.0
STOP_TIMEOUT = 25.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tutor(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tutor", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    out: Path
    err: Path
    started_in: float
    page: str = ""  # the printed address, with its access token
    tabs_seen: dict[int, psutil.Process] = field(default_factory=dict)

    def ws_url(self, query: str = "") -> str:
        return self.url.replace("http://", "ws://") + "ws" + query

    def cookie(self) -> dict[str, str]:
        """The header a browser sends once it has opened the printed address."""
        port = self.url.rsplit(":", 1)[1].strip("/")
        return {"Cookie": f"tutor_serve_{port}={self.page.split('token=', 1)[1]}"}

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def tabs(self) -> list[psutil.Process]:
        """The tutor processes the server runs for browser tabs (remembered for teardown)."""
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self.tabs_seen.update((child.pid, child) for child in children)
        return children

    def wait_tab(self, timeout: float = 15) -> psutil.Process:
        """The one tab's tutor, once it runs the tutor (not the server's fork before exec)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.tabs()  # remembered for teardown, with anything they started
            with contextlib.suppress(psutil.Error):
                tabs = psutil.Process(self.proc.pid).children()  # direct: one per tab
                if len(tabs) == 1 and "serve" not in tabs[0].cmdline():
                    return tabs[0]
            time.sleep(0.05)
        raise AssertionError(f"no tab tutor is running: {self.tabs()}\n{self.output()}")

    def interrupt(self, times: int = 1) -> int:
        """Ctrl-C (pressed `times` times), as a terminal sends it; the exit code."""
        self.tabs()
        for _ in range(times):
            self.proc.send_signal(signal.SIGINT)
            time.sleep(0.02)
        return self.proc.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def served(tmp_path: Path, endpoint: str, *extra: str) -> Iterator[Served]:
    port = free_port()
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    started = time.monotonic()
    with out.open("wb") as out_fh, err.open("wb") as err_fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tutor", "--endpoint", endpoint, "serve", "--port",
             str(port), *extra], stdout=out_fh, stderr=err_fh, stdin=subprocess.DEVNULL,
            start_new_session=True)
    server = Served(proc, f"http://127.0.0.1:{port}/", out, err, 0.0)
    try:
        deadline = started + START_TIMEOUT
        while "Serving the tutor at" not in out.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"tutor serve did not start:\n{server.output()}")
            time.sleep(0.05)
        server.started_in = time.monotonic() - started
        found = re.search(r"Serving the tutor at (\S+)", out.read_text())
        assert found, server.output()
        server.page = found.group(1)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        for tab in server.tabs_seen.values():  # tabs live in their own sessions
            with contextlib.suppress(psutil.Error):
                if tab.is_running():  # the same process, not a reused pid
                    tab.kill()
        proc.wait(timeout=10)
