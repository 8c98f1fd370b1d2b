"""The burst generator in a process of its own, at a lower CPU priority.

The learner's burst (`u` on the lab screen's dashboard) is eight threads sending batches as
fast as LocalStack takes them. Run as threads of the tutor they would hold its GIL and the
screen would answer keys late for as long as the burst lasts; on a machine as busy as the
burst makes it, they would also take CPU from the screen. So the tutor runs the burst in
a child process: its own session, so on Linux its own scheduling group (autogroup), made
to yield to the screen (nice 10) while both want the CPU. `python -m
tutor.engine.labs.burst_process` reads the job as JSON on stdin and writes the result as
JSON on stdout; the bodies are built here, so the child runs no lab code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.burst import BurstResult, burst

BACKGROUND_NICE = 10  # yields to the UI while both want the CPU; runs at full speed alone
TIMEOUT = 180.0  # a burst of the largest chaos action takes seconds


def yield_cpu(nice: int = BACKGROUND_NICE) -> None:
    """Lower this process's CPU priority. With autogroups (most Linux desktops and these
    machines) a thread's nice counts only inside its session's group, so the group's nice
    is set; elsewhere, the process's own."""
    group = Path("/proc/self/autogroup")
    try:
        group.write_text(str(nice))
    except OSError:  # no autogroups (or not Linux): the plain nice still helps
        pass
    try:
        os.nice(nice)
    except OSError:
        pass


def burst_elsewhere(endpoint: Endpoint, queue_url: str, count: int, *,
                    body: Callable[[int], str] | None = None,
                    threads: int = 8) -> BurstResult:
    """`burst()` from a child process at background priority; the same result."""
    job = {"url": endpoint.url, "source": endpoint.source, "region": endpoint.region,
           "account": endpoint.account, "queue_url": queue_url, "threads": threads,
           "bodies": [body(i) for i in range(count)] if body else None, "count": count}
    try:
        done = subprocess.run([sys.executable, "-m", __name__], input=json.dumps(job),
                              capture_output=True, text=True, timeout=TIMEOUT,
                              start_new_session=True, check=False)
    except subprocess.TimeoutExpired:
        return BurstResult(0, count, TIMEOUT, [f"the burst took over {TIMEOUT:.0f} s"])
    except OSError as exc:
        return BurstResult(0, count, 0.0, [f"the burst could not start: {exc}"])
    try:
        return BurstResult(**json.loads(done.stdout))
    except (ValueError, TypeError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return BurstResult(0, count, 0.0, [f"the burst process failed: {last}"])


def main() -> None:
    yield_cpu()
    job = json.load(sys.stdin)
    endpoint = Endpoint(job["url"], job["source"], job["region"], job["account"])
    bodies: list[str] | None = job["bodies"]
    result = burst(endpoint, job["queue_url"], job["count"], threads=job["threads"],
                   body=bodies.__getitem__ if bodies is not None else None)
    json.dump(asdict(result), sys.stdout)


if __name__ == "__main__":
    main()
