"""Quitting at once even while a worker thread is busy (a check can run for a minute).

asyncio waits for the default executor's threads when the app's loop closes, and Python
joins them again at exit: a `q` pressed during a check would hang until it finished.
The app runs its thread workers on daemon threads instead, and on the way out stops the
learner's programs that a check had started (they run in their own sessions, with the
lab workspace as their working directory, so they would otherwise outlive the tutor).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any


class DaemonExecutor(ThreadPoolExecutor):
    """One daemon thread per task; shutting down never waits for them."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the awaiting worker, as usual
                future.set_exception(exc)

        threading.Thread(target=run, name="tutor-worker", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


def stop_learner_programs(workspace_root: Path, grace: float = 2.0) -> list[int]:
    """SIGTERM, then SIGKILL, the process groups of our children working in a workspace."""
    import psutil

    root = str(workspace_root.resolve())
    groups: set[int] = set()
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error, OSError):
            cwd = child.cwd()
            if cwd == root or cwd.startswith(root + os.sep):
                groups.add(os.getpgid(child.pid))
    groups.discard(os.getpgrp())  # never our own group
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, sig)
        if groups and sig == signal.SIGTERM:
            _wait_gone(groups, grace)
    return sorted(groups)


def _wait_gone(groups: set[int], seconds: float) -> None:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = False
        for group in groups:
            try:
                os.killpg(group, 0)
                alive = True
            except (ProcessLookupError, PermissionError):
                continue
        if not alive:
            return
        time.sleep(0.05)


QUIT_DEADLINE = 8.0  # seconds from `q` to the process being gone, whatever hangs


def arm_hard_exit(workspace_root: Path, log_path: Path,
                  seconds: float | None = None) -> threading.Timer:
    """`q` must end the tutor: if the app (or the interpreter's own shutdown) is still
    alive after `seconds`, keep every thread's stack in `log_path` for a bug report, stop
    the learner's programs and leave. Nothing is lost: each progress write is its own
    committed transaction, and the watchdog stops our LocalStack when our pipe closes."""
    import faulthandler
    import sys
    import time

    seconds = QUIT_DEADLINE if seconds is None else seconds

    def give_up() -> None:
        with contextlib.suppress(OSError), log_path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} quit took more than "
                     f"{seconds:g} s; every thread's stack:\n")
            fh.flush()
            faulthandler.dump_traceback(file=fh, all_threads=True)
        with contextlib.suppress(Exception):
            stop_learner_programs(workspace_root, grace=0.5)
        with contextlib.suppress(OSError):
            sys.stderr.write(f"tutor: quitting took more than {seconds:g} s; stopped it "
                             f"(details in {log_path})\n")
        os._exit(0)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True  # a normal exit never waits for it
    timer.start()
    return timer

