"""Foundation figures: LocalStack cold boot, `tutor --help`, first paint, memory.

Run: `.venv/bin/python -m bench bench_foundation`. Prints medians over several runs and
the ratio to each target; asserts nothing.
"""

from __future__ import annotations

import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tutor.cloud.embedded import EmbeddedLocalStack

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
TUTOR = [sys.executable, "-m", "tutor"]


def _tree_rss(pid: int) -> int:
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])


def cold_boot() -> tuple[list[float], int]:
    times, rss = [], 0
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            embedded = EmbeddedLocalStack(data=Path(tmp))
            start = time.perf_counter()
            embedded.start()
            times.append(time.perf_counter() - start)
            rss = _tree_rss(embedded.pid or 0)
            embedded.stop()
    return times, rss


def help_time() -> list[float]:
    times = []
    for _ in range(RUNS * 2):
        start = time.perf_counter()
        subprocess.run([*TUTOR, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def first_paint(command: list[str] | None = None, shows: bytes = b"Labs",
                done: bytes = b"READY", runs: int = RUNS) -> tuple[list[float], int]:
    """Wall time from exec of `command` (the tutor) to `shows` (home's text) on the
    terminal, `runs` times; then the app is left until it wrote `done` (or 30 s) and quit."""
    times, rss = [], 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            master, slave = pty.openpty()
            env = {**os.environ, "TUTOR_HOME": tmp, "TERM": "xterm-256color"}
            start = time.perf_counter()
            proc = subprocess.Popen(command or TUTOR, stdin=slave, stdout=slave,
                                    stderr=slave, env=env)
            os.close(slave)
            seen = b""
            painted = None
            deadline = start + 30
            while time.perf_counter() < deadline:
                if select.select([master], [], [], 0.01)[0]:
                    seen += os.read(master, 65536)
                    if painted is None and shows in seen:
                        painted = time.perf_counter() - start
                    if done in seen:
                        break
            rss = psutil.Process(proc.pid).memory_info().rss
            _quit(proc, master)
            os.close(master)
            if painted is not None:
                times.append(painted)
    return times, rss


def _quit(proc: subprocess.Popen[bytes], master: int) -> None:
    """`q` until the app is gone: a key that arrives before the app reads its input is lost."""
    for _ in range(10):
        os.write(master, b"q")
        try:
            proc.wait(timeout=3)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.kill()
    proc.wait(timeout=10)


def _line(name: str, values: list[float], target: float) -> None:
    median = statistics.median(values)
    print(f"{name:<34} median {median:6.3f} s  max {max(values):6.3f} s  "
          f"target {target:.1f} s  ratio {median / target:4.2f}  (n={len(values)})")


def main() -> None:
    boots, ls_rss = cold_boot()
    _line("LocalStack cold boot to healthy", boots, 3.0)
    _line("tutor --help", help_time(), 0.3)
    paints, tutor_rss = first_paint()
    _line("tutor to first painted home", paints, 1.0)
    print(f"{'resident memory, tutor app':<34} {tutor_rss / 2**20:6.0f} MiB")
    print(f"{'resident memory, LocalStack tree':<34} {ls_rss / 2**20:6.0f} MiB")


if __name__ == "__main__":
    main()
