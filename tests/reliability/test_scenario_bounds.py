"""Learner programs that hang, crash, flood output, allocate without end or fork: all bounded."""

from __future__ import annotations

import os
import shutil
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.checks import ScenarioFailed
from tutor.engine.labs.scenario import MEMORY_LIMIT, OUTPUT_KEEP, ScenarioRunner

PROGRAMS = {
    "hang.py": "import time\nprint('working', flush=True)\ntime.sleep(600)\n",
    "crash.py": "print('about to fail')\nraise SystemExit(1 / 0)\n",
    # 40 MiB as fast as Python can print it, then a normal exit
    "flood.py": """
        import sys
        line = b"x" * 1023 + b"\\n"
        for _ in range(40 * 1024):
            sys.stdout.buffer.write(line)
        print("THE END")
    """,
    "flood_forever.py": """
        import sys
        line = b"y" * 1023 + b"\\n"
        while True:
            sys.stdout.buffer.write(line)
    """,
    "hog.py": """
        import boto3  # a real learner program imports boto3 first: it must still start
        hoard = []
        while True:
            hoard.append(bytearray(64 * 1024 * 1024))
            print("holding", len(hoard) * 64, "MiB", flush=True)
    """,
    # A program that starts children that start grandchildren, then exits at once.
    "spawner.py": """
        import subprocess, sys
        code = "import subprocess, sys, time; " \\
               "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); " \\
               "time.sleep(600)"
        for _ in range(4):
            subprocess.Popen([sys.executable, "-c", code])
        print("spawned", flush=True)
    """,
    "fine.py": "print('ok')\n",
    "hog.js": "const hoard = [];\nwhile (true) { hoard.push(new Array(1e6).fill(1.5)); }\n",
}


@pytest.fixture
def runner(tmp_path: Path) -> ScenarioRunner:
    work = tmp_path / "work"
    work.mkdir()
    for name, text in PROGRAMS.items():
        (work / name).write_text(textwrap.dedent(text))
    made = ScenarioRunner("97-bounds", "lab97-", Endpoint("http://127.0.0.1:9", "test"), work)
    yield made
    made.close()


def _group_members(pgid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid:
                found.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


# A limit that leaves a program time to start and print on a loaded machine (Python and the
# tutor's hook took more than 2 s there), so what is kept of its output can be asserted.
STARTS_WITHIN = 8


def test_a_hanging_program_is_stopped_at_its_time_limit(runner: ScenarioRunner) -> None:
    start = time.monotonic()
    with pytest.raises(ScenarioFailed) as caught:
        runner.run("hang.py", timeout=STARTS_WITHIN)
    took = time.monotonic() - start
    assert caught.value.message == (f"`hang.py` did not finish within {STARTS_WITHIN} s and "
                                    "was stopped")
    assert "working" in caught.value.output
    assert took < STARTS_WITHIN + 2.0 + 1.5  # the limit, the SIGTERM grace, slack
    assert runner.programs[-1].returncode is not None


def test_a_crash_is_one_line_and_its_traceback_is_kept(runner: ScenarioRunner) -> None:
    with pytest.raises(ScenarioFailed) as caught:
        runner.run("crash.py", timeout=10)
    assert caught.value.message == "`crash.py` exited with code 1"
    assert "ZeroDivisionError" in caught.value.output and "about to fail" in caught.value.output


def test_a_flood_of_output_is_drained_and_truncated(runner: ScenarioRunner) -> None:
    me = psutil.Process()
    before = me.memory_info().rss
    program = runner.run("flood.py", timeout=30)  # a full pipe would hang it: it finishes
    grew = me.memory_info().rss - before
    assert program.returncode == 0
    assert program.tail.total == 40 * 1024 * 1024 + len("THE END\n")
    shown = program.output(lines=10_000)
    first, *rest = shown.splitlines()
    assert first == ("[your program printed 40 MiB, more than the 64 KiB the tutor keeps; "
                     "output truncated to the last 64 KiB]")
    assert rest[-1] == "THE END"
    assert len("\n".join(rest)) <= OUTPUT_KEEP
    assert grew < 16 * 1024 * 1024, f"the tutor grew {grew} bytes while draining 40 MiB"


def test_an_endless_flood_is_stopped_and_says_it_was_truncated(runner: ScenarioRunner) -> None:
    with pytest.raises(ScenarioFailed) as caught:
        runner.run("flood_forever.py", timeout=STARTS_WITHIN)
    message = caught.value.message
    assert message.startswith(f"`flood_forever.py` did not finish within {STARTS_WITHIN} s and "
                              "was stopped; it printed ")
    assert message.endswith("more than the 64 KiB the tutor keeps; output truncated to the "
                            "last 64 KiB")
    assert len(caught.value.output) <= OUTPUT_KEEP + 200


def test_a_program_that_allocates_without_end_is_stopped_at_the_memory_limit(
        runner: ScenarioRunner) -> None:
    assert MEMORY_LIMIT == 1 << 30
    start = time.monotonic()
    with pytest.raises(ScenarioFailed) as caught:
        runner.run("hog.py", timeout=60)
    assert caught.value.message == "`hog.py` used more than 1 GiB of memory and was stopped"
    assert "MemoryError" in caught.value.output
    held = [int(line.split()[1]) for line in caught.value.output.splitlines()
            if line.startswith("holding")]
    assert held and max(held) <= 1024
    assert time.monotonic() - start < 30


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_a_node_program_that_allocates_without_end_is_stopped_too(
        runner: ScenarioRunner) -> None:
    with pytest.raises(ScenarioFailed) as caught:
        runner.run("hog.js", timeout=60)
    assert caught.value.message == "`hog.js` used more than 1 GiB of memory and was stopped"


def test_children_and_grandchildren_die_with_the_program_group(runner: ScenarioRunner) -> None:
    program = runner.run("spawner.py", timeout=20)  # exits at once, leaving 8 sleepers
    assert program.returncode == 0
    deadline = time.monotonic() + 10
    while len(_group_members(program.proc.pid)) < 8 and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _group_members(program.proc.pid)
    assert len(left) == 8, "the children and grandchildren should be running by now"
    runner.close()
    _gone, alive = psutil.wait_procs(left, timeout=5)
    assert not alive, f"still running after close: {[p.pid for p in alive]}"


def test_the_runner_stays_usable_after_every_fault(runner: ScenarioRunner) -> None:
    for program, timeout in (("crash.py", 10), ("flood_forever.py", 1), ("hang.py", 1)):
        with pytest.raises(ScenarioFailed):
            runner.run(program, timeout=timeout)
    start = time.monotonic()
    assert runner.run("fine.py", timeout=10).output() == "ok"
    assert time.monotonic() - start < 5
