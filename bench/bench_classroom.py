"""Classroom capacity: N learners checking a lab at once on one server and one LocalStack.

Each simulated learner has its own LocalStack account, its own workspace (the lab's
reference solution applied in that account) and its own sandbox (TUTOR_SANDBOX=1, as a
public `tutor serve` runs learner programs). For each N, all N run the lab's whole check
ROUNDS times at once; the bench prints check time p50/p95 per N, the ratio of p95 to
N = 1's, the server's CPU and memory, and the first N whose p95 is over twice N = 1's.

Run: `.venv/bin/python -m bench.bench_classroom` (its own embedded LocalStack, or
BENCH_ENDPOINT=http://127.0.0.1:4566 for a running one). BENCH_LAB=08 the lab,
BENCH_LEARNERS=1,2,4,6,8 the Ns, BENCH_ROUNDS=2. Prints figures; asserts nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from tutor import locations, sandbox
from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.loader import Lab, get_lab
from tutor.engine.labs.namespace import Namespace
from tutor.engine.labs.runner import run_checks
from tutor.engine.labs.solution import apply_solution
from tutor.engine.labs.workspace import reset_workspace

LAB = os.environ.get("BENCH_LAB", "08")
LEARNERS = [int(n) for n in os.environ.get("BENCH_LEARNERS", "1,2,4,6,8").split(",")]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
ACCOUNT_BASE = 770000000000  # the bench's learners, apart from the corpus's and the tests'


@dataclasses.dataclass
class Learner:
    endpoint: Endpoint
    workspace: Path


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


class Sampler:
    """The server's CPU (all cores, %) and memory in use, twice a second."""

    def __init__(self) -> None:
        self.cpu: list[float] = []
        self.memory: list[int] = []
        self._stop = threading.Event()
        psutil.cpu_percent()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.cpu.append(psutil.cpu_percent())
            self.memory.append(psutil.virtual_memory().used)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def prepare(lab: Lab, endpoint: Endpoint, count: int, root: Path) -> list[Learner]:
    learners = []
    for i in range(count):
        own = dataclasses.replace(endpoint, account=str(ACCOUNT_BASE + i))
        Namespace.of(lab, own).delete()
        workspace = reset_workspace(lab, root / f"learner-{i}")
        apply_solution(lab, own, workspace)
        learners.append(Learner(own, workspace))
    return learners


def check(lab: Lab, learner: Learner, times: list[float], failed: list[str]) -> None:
    for _ in range(ROUNDS):
        start = time.perf_counter()
        report = run_checks(lab, learner.endpoint, learner.workspace)
        times.append(time.perf_counter() - start)
        for step in report.steps:
            if not step.passed:  # a right solution failed: say how (load? a check's bug?)
                why = next((c.message for c in step.checks if not c.passed), step.note)
                failed.append(f"{step.step_id}: {why[:300]}")


def main() -> None:
    os.environ[sandbox.SANDBOX_ENV] = "1"
    if sandbox.problem():
        print(f"no sandbox here ({sandbox.problem()}): the figures would not be a "
              "public classroom's")
        return
    with tempfile.TemporaryDirectory(prefix="tutor-bench-classroom-") as tmp:
        os.environ["TUTOR_HOME"] = tmp
        given = os.environ.get("BENCH_ENDPOINT", "").strip()
        embedded = None
        if given:
            endpoint = Endpoint(given, "BENCH_ENDPOINT")
        else:
            from tutor.cloud.embedded import EmbeddedLocalStack

            embedded = EmbeddedLocalStack(data=Path(tmp) / "localstack")
            endpoint = embedded.start()
        try:
            run(endpoint, Path(tmp))
        finally:
            if embedded is not None:
                embedded.stop()


def run(endpoint: Endpoint, root: Path) -> None:
    lab = get_lab(LAB, locations.labs_dir())
    print(f"lab {lab.id}, {ROUNDS} whole-lab checks per learner, learner programs "
          f"sandboxed; {os.cpu_count()} CPUs, load "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    learners = prepare(lab, endpoint, max(LEARNERS), root)
    single_p95 = None
    over = None
    for count in LEARNERS:
        times: list[float] = []
        failed: list[str] = []
        sampler = Sampler()
        threads = [threading.Thread(target=check, args=(lab, learner, times, failed))
                   for learner in learners[:count]]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        sampler.stop()
        p50, p95 = statistics.median(times), _p95(times)
        single_p95 = single_p95 or p95
        ratio = p95 / single_p95
        if over is None and ratio > 2:
            over = count
        cpu = statistics.mean(sampler.cpu) if sampler.cpu else 0.0
        memory = max(sampler.memory, default=0) / 2**30
        print(f"N={count:<3} check p50 {p50:6.1f} s  p95 {p95:6.1f} s  p95/N=1 {ratio:4.2f}  "
              f"wall {wall:6.1f} s  CPU {cpu:5.1f} %  memory in use {memory:5.2f} GiB  "
              f"steps failed {len(failed)}", flush=True)
        for line in failed:
            print(f"      failed on the reference solution: {line}", flush=True)
    for learner in learners:
        with contextlib.suppress(Exception):
            Namespace.of(lab, learner.endpoint).delete()
    print(f"first N whose check p95 is over twice N=1's: "
          f"{over if over is not None else f'none up to {max(LEARNERS)}'}")


if __name__ == "__main__":
    main()
