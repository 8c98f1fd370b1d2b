"""One runtime process: spawned from a long-lived thread, its output collected, killed whole.

Why a spawner thread: PR_SET_PDEATHSIG (set by the runtime) fires when the *thread* that
forked the process exits, not the process. LocalStack starts environments from
short-lived invocation threads, so forking there would kill warm environments at random.
Every environment is forked from one daemon thread that lives as long as LocalStack.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import psutil

from tutor.sandbox import ConfinedPopen, Confinement

SPAWN_TIMEOUT = 30.0
OUTPUT_TAIL = 64 * 1024  # bytes of output kept for `get_logs()` after the fact
DATA_LIMIT = 1 << 30  # bytes of memory a sandboxed runtime may allocate, as a program
PENDING_MAX = 8 * 1024 * 1024  # a handler thread printing between invokes cannot eat memory

_spawn_queue: queue.Queue[tuple[Callable[[], subprocess.Popen[bytes]],
                                Future[subprocess.Popen[bytes]]]] = queue.Queue()
_spawner_lock = threading.Lock()
_spawner: threading.Thread | None = None
_live: set[EnvironmentProcess] = set()
_live_lock = threading.Lock()


def _spawner_loop() -> None:
    while True:
        make, future = _spawn_queue.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(make())
        except BaseException as exc:
            future.set_exception(exc)


def _spawn(argv: list[str], env: dict[str, str], cwd: Path,
           jail: Confinement | None = None) -> subprocess.Popen[bytes]:
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():
            _spawner = threading.Thread(target=_spawner_loop, name="tutor-lambda-spawner",
                                        daemon=True)
            _spawner.start()
    future: Future[subprocess.Popen[bytes]] = Future()
    if jail is None:
        # No new session: environments stay in LocalStack's process group, so the
        # watchdog's killpg takes them down with it.
        _spawn_queue.put((lambda: subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, close_fds=True), future))
        return future.result(timeout=SPAWN_TIMEOUT)

    def confined() -> subprocess.Popen[bytes]:
        # bubblewrap's --die-with-parent (of this long-lived thread) ends the sandbox
        # with LocalStack; its own session keeps the sandbox's kill off LocalStack's group.
        proc = ConfinedPopen(jail.argv(argv, DATA_LIMIT), env=env, cwd=cwd,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, close_fds=True, start_new_session=True)
        proc.confinement = jail
        jail.started(proc.pid)
        return proc

    _spawn_queue.put((confined, future))
    return future.result(timeout=SPAWN_TIMEOUT)


class EnvironmentProcess:
    """A runtime process whose merged stdout/stderr is cut into per-invocation logs."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, mark: str,
                 on_exit: Callable[[int], None], jail: Confinement | None = None) -> None:
        self.mark = mark
        self.jail = jail  # the sandbox it runs in (lambda_executor/confine.py), if any
        self._on_exit = on_exit
        self._cond = threading.Condition()
        self._pending = bytearray()  # output not yet handed to an invocation
        self._tail = bytearray()  # everything, bounded, for get_logs()
        self.exited = False
        try:
            self.proc = _spawn(argv, env, cwd, jail)
        except BaseException:
            if jail is not None:
                jail.close()
            raise
        with _live_lock:
            _live.add(self)
        self._reader = threading.Thread(target=self._read, name=f"tutor-lambda-out-{self.pid}",
                                        daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return not self.exited and self.proc.poll() is None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if not chunk:
                    self.exited = True
                    self._cond.notify_all()
                    break
                self._pending += chunk
                if len(self._pending) > PENDING_MAX:
                    del self._pending[:-PENDING_MAX]
                self._tail += chunk
                del self._tail[:-OUTPUT_TAIL]
                self._cond.notify_all()
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = -1
        if self.jail is not None:
            self.jail.close()  # its relay, task group and sockets go with the process
        with _live_lock:
            _live.discard(self)
        self._on_exit(code)

    def take_output(self) -> str:
        """Everything printed since the last cut (init output, stray background prints)."""
        with self._cond:
            text = bytes(self._pending)
            self._pending.clear()
        return text.decode(errors="replace")

    def wait_for_mark(self, request_id: str, timeout: float) -> str:
        """The output of one invocation: up to the runtime's marker for it (or exit)."""
        mark = f"\x1e{self.mark}:{request_id}\x1e".encode()
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                at = self._pending.find(mark)
                if at >= 0:
                    text = bytes(self._pending[:at])
                    del self._pending[:at + len(mark)]
                    return text.decode(errors="replace")
                left = deadline - time.monotonic()
                if self.exited or left <= 0:
                    text = bytes(self._pending)
                    self._pending.clear()
                    return text.decode(errors="replace")
                self._cond.wait(left)

    def wait_exit_output(self, timeout: float = 2.0) -> str:
        """After a kill: wait for end-of-output, then take what is left."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.exited and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
        return self.take_output()

    def tail(self) -> str:
        with self._cond:
            return bytes(self._tail).decode(errors="replace")

    def peak_rss_mb(self) -> int | None:
        """VmHWM: the most memory the runtime has used, for the REPORT line (in a sandbox,
        the largest of the processes under bubblewrap: the runtime is one of them)."""
        pids = [self.pid]
        if self.jail is not None:
            try:
                pids = [p.pid for p in psutil.Process(self.pid).children(recursive=True)]
            except psutil.Error:
                pids = []
        peaks = [peak for peak in map(_peak_kib, pids) if peak is not None]
        return max(1, max(peaks) // 1024) if peaks else None

    def kill(self, timeout: float = 5.0) -> None:
        """SIGKILL the runtime and anything the handler started, then reap it."""
        try:
            children = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            children = []
        for proc in children:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        # Reap any child of the handler that had been reparented to us (rare).
        psutil.wait_procs(children, timeout=1)
        if threading.current_thread() is not self._reader:
            self._reader.join(timeout=timeout)
        if self.proc.stdout is not None:
            with contextlib.suppress(OSError):
                self.proc.stdout.close()


def _peak_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def live_pids() -> list[int]:
    with _live_lock:
        return [env.pid for env in _live]


@atexit.register
def kill_all() -> None:
    """Last resort when LocalStack exits without stopping its environments."""
    with _live_lock:
        envs = list(_live)
    for env in envs:
        with contextlib.suppress(Exception):
            env.kill(timeout=1.0)
