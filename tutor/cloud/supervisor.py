"""A small watchdog process that owns one LocalStack and never lets it outlive its owner.

Run as `python -m tutor.cloud.supervisor --port P --data DIR [--detached]`. It starts
LocalStack in a process group of its own and stops that whole group (SIGTERM, a bounded
grace period, then SIGKILL) when any of these happens:
- its standard input reaches end-of-file: the tutor that started it exited, however it
  exited, including SIGKILL (the kernel closes the pipe) — not in `--detached` mode;
- it receives SIGTERM or SIGINT (`tutor localstack down`);
- LocalStack itself exits.
On Linux LocalStack also gets PR_SET_PDEATHSIG, so even a SIGKILL of this watchdog
takes it down.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

GRACE_SECONDS = 8.0


def _die_with_parent() -> None:
    """Runs in the LocalStack child before exec: get SIGKILL when the watchdog dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        except OSError:
            pass


def stop_group(proc: subprocess.Popen[bytes], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM the child's process group, wait `grace` seconds, then SIGKILL it."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = proc.pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; sweep anything it left in the group
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return


def main(argv: list[str] | None = None) -> int:
    from tutor.cloud.embedded import localstack_command, localstack_env

    parser = argparse.ArgumentParser(prog="tutor-localstack-supervisor")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--detached", action="store_true")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    args.log.parent.mkdir(parents=True, exist_ok=True)
    with args.log.open("ab") as log:
        proc = subprocess.Popen(
            localstack_command(),
            env=localstack_env(args.port, args.data),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=args.data,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    print(proc.pid, flush=True)

    if not args.detached:
        def watch_stdin() -> None:
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True).start()

    def watch_child() -> None:
        proc.wait()
        stop.set()

    threading.Thread(target=watch_child, daemon=True).start()
    stop.wait()
    stop_group(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
