"""Scenario runner: learner programs as bounded subprocesses, load drivers, measurements."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tutor import sandbox
from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.burst import BurstResult, burst
from tutor.engine.labs.faults import Fault, FaultPlan
from tutor.engine.labs.program import (
    LONGEST_POLL,
    MEMORY_LIMIT,
    OUTPUT_KEEP,
    OUTPUT_TAIL,
    OutputTail,
    Program,
    human_bytes,
)
from tutor.errors import TutorError

# Program and its output helpers live in program.py; existing imports from here keep working.
__all__ = [
    "HOOK_DIR",
    "LONGEST_POLL",
    "MEMORY_LIMIT",
    "OUTPUT_KEEP",
    "OUTPUT_TAIL",
    "OutputTail",
    "Program",
    "ScenarioFailed",
    "ScenarioRunner",
    "human_bytes",
    "node_binary",
]


class ScenarioFailed(TutorError):
    """A scenario could not produce its measurement (a learner program crashed, hung...)."""

    def __init__(self, message: str, output: str = "", fix: str = "") -> None:
        super().__init__(message=message, title="Scenario failed", fix=fix)
        self.output = output


HOOK_DIR = Path(__file__).resolve().parent / "hook"


def _limited(cmd: list[str], memory: int | None) -> list[str]:
    """`cmd` run under RLIMIT_DATA = `memory` bytes, via util-linux `prlimit` when present.

    `prlimit` sets the limit and execs the command (same pid, same process group), so no
    Python runs between fork and exec (a preexec_fn is unsafe in the threaded TUI).
    """
    tool = shutil.which("prlimit") if memory else None
    if tool is None:
        return cmd
    return [tool, f"--data={memory}:{memory}", "--", *cmd]


def node_binary() -> str | None:
    """The Node.js executable, or None (steps that need it are then skipped)."""
    return shutil.which("node")


@dataclass
class ScenarioRunner:
    """What scenarios use to run learner programs and drive load, all bounded."""

    lab_id: str
    prefix: str
    endpoint: Endpoint
    workspace: Path
    programs: list[Program] = field(default_factory=list)
    _tmp: Path | None = None
    memory_limit: int | None = MEMORY_LIMIT  # RLIMIT_DATA of each program, None: none
    output_keep: int = OUTPUT_KEEP
    lost: threading.Event = field(default_factory=threading.Event)  # set by abort()
    plan: FaultPlan | None = None  # faults for the programs started from now on
    ports: list[int] = field(default_factory=list)  # from free_port()

    def inject(self, *faults: Fault) -> None:
        """Add faults (see faults.py) for the programs started from now on (and, for a
        fault with `running=True`, those already running: they re-read the plan)."""
        if self.plan is None:
            self.plan = FaultPlan.create(self._scratch())
        self.plan.add(*faults)

    def set_faults(self, faults: list[Fault]) -> None:
        """Replace the fault plan (and restart its counts); [] turns faults off."""
        if not faults and self.plan is None:
            return
        if self.plan is None:
            self.plan = FaultPlan.create(self._scratch())
        self.plan.set(faults)

    def fired(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every injected fault that fired, in every program this runner started."""
        return sorted((f for p in self.programs for f in p.faults(kind)),
                      key=lambda f: float(f.get("t", 0)))

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment learner programs get: endpoint, lab names, measurement hook."""
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("AWS_", "LOCALSTACK_", "TUTOR_MEASURE", "TUTOR_FAULTS",
                                     "TUTOR_PROGRAM"))}
        base.update(self.endpoint.env())
        # An HTTP(S)_PROXY of the learner's shell would carry their program's AWS calls to
        # the proxy, possibly off this machine: LocalStack is reached directly.
        direct = ["127.0.0.1", "localhost", "::1", urlsplit(self.endpoint.url).hostname or ""]
        given = base.get("NO_PROXY") or base.get("no_proxy") or ""
        base["NO_PROXY"] = base["no_proxy"] = ",".join(
            h for h in dict.fromkeys([*direct, *given.split(",")]) if h)
        base.update({
            "TUTOR_LAB_ID": self.lab_id,
            "TUTOR_LAB_PREFIX": self.prefix,
            "TUTOR_LAB_WORKSPACE": str(self.workspace),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        if extra:
            base.update(extra)
        return base

    def free_port(self) -> int:
        """A free TCP port on 127.0.0.1 for a program of this run to serve, or to reach
        one that another serves: the sandbox carries these ports, and only these."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        self.ports.append(port)
        return port

    def _scratch(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix=f"tutor-{self.lab_id}-"))
        return self._tmp

    def start(self, program: str, *args: str, env: dict[str, str] | None = None,
              measure: bool = True, restarts: int = 0, ready: bool = False) -> Program:
        """Start `program` (workspace-relative .py, .js or .mjs) in its own process group.

        `restarts`: start it again (up to that many times) when it exits by itself, as a
        supervisor would after a crash or the tutor's injected SIGKILL. `ready`: return once
        it made its first AWS call (bounded), for scenarios whose work has a deadline.

        In a sandbox (`sandbox.wanted()`: a public server) the program's network is its
        own: a port of `free_port()` named in its arguments (and served by no other
        program yet) is one it serves, carried out to 127.0.0.1 here; the runner's other
        ports (and LocalStack's) are carried in."""
        path = self.workspace / program
        if not path.is_file():
            raise ScenarioFailed(f"`{program}` is not in your workspace {self.workspace}",
                                 fix=f"restore it with `tutor lab reset {self.lab_id}`")
        if path.suffix in (".js", ".mjs", ".cjs"):
            node = node_binary()
            if node is None:
                raise ScenarioFailed("Node.js is not installed", fix="install Node.js 18+")
            cmd = [node, str(path), *args]
        else:
            cmd = [sys.executable, str(path), *args]
        return self._launch(program, cmd, args, env=env, measure=measure, restarts=restarts,
                            ready=ready)

    def start_command(self, argv: list[str]) -> Program:
        """A command that is not a workspace file (a check's by-hand `awslocal …`), run
        as a program is: its environment, limits and sandbox, its own process group;
        not measured. `awslocal` is the one installed beside the tutor's Python."""
        tool = Path(sys.executable).with_name(argv[0]) if argv else None
        if tool is not None and tool.is_file():
            argv = [str(tool), *argv[1:]]
        elif not argv or shutil.which(argv[0]) is None:
            raise ScenarioFailed(f"`{argv[0] if argv else ''}` is not installed",
                                 fix="run `make install`")
        return self._launch(Path(argv[0]).name, argv, tuple(argv[1:]), measure=False)

    def _launch(self, program: str, cmd: list[str], args: tuple[str, ...], *,
                env: dict[str, str] | None = None, measure: bool = True, restarts: int = 0,
                ready: bool = False) -> Program:
        scratch = self._scratch()
        index = len(self.programs)
        measure_file = scratch / f"{index}-{Path(program).stem}.measure.jsonl"
        measure_file.touch()
        full_env = self.env(env)
        if measure:
            full_env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(HOOK_DIR), full_env.get("PYTHONPATH", "")) if p)
            full_env["TUTOR_MEASURE_FILE"] = str(measure_file)
            # Every program reads the plan (re-read when it changes), so faults injected
            # while it runs reach it too; `program=` faults pick it by its name.
            if self.plan is None:
                self.plan = FaultPlan.create(self._scratch())
            full_env.update(self.plan.env())
            full_env["TUTOR_PROGRAM"] = program
            full_env["TUTOR_PROGRAM_STARTED"] = repr(time.time())

        def launch() -> tuple[subprocess.Popen[bytes], OutputTail]:
            if sandbox.wanted():
                return confined()
            proc = subprocess.Popen(_limited(cmd, self.memory_limit), cwd=self.workspace,
                                    env=full_env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            return proc, OutputTail(proc.stdout, self.output_keep)

        def confined() -> tuple[subprocess.Popen[bytes], OutputTail]:
            serving = {p for other in self.programs if other.alive
                       for p in getattr(getattr(other.proc, "confinement", None), "served", ())}
            served = tuple(p for p in self.ports if str(p) in args and p not in serving)
            jail = sandbox.Confinement(self.workspace, self.endpoint.url,
                                       writable=(scratch,), served=served,
                                       reached=tuple(p for p in self.ports
                                                     if p not in served))
            try:
                proc = sandbox.ConfinedPopen(
                    jail.argv(cmd, self.memory_limit), cwd=self.workspace,
                    env=jail.env(full_env), stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            except BaseException:
                jail.close()
                raise
            proc.confinement = jail
            jail.started(proc.pid)
            return proc, OutputTail(proc.stdout, self.output_keep)

        proc, tail = launch()
        started = Program(program, proc, tail, measure_file, time.monotonic(),
                          memory_limit=self.memory_limit, max_restarts=restarts,
                          _relaunch=launch)
        started.supervise()
        self.programs.append(started)
        if ready and measure:
            started.wait_ready()
        return started

    def run(self, program: str, *args: str, timeout: float = 20.0,
            env: dict[str, str] | None = None, check: bool = True) -> Program:
        """Run to completion; killed after `timeout` s; a non-zero exit fails the scenario."""
        started = self.start(program, *args, env=env)
        code = started.wait(timeout)
        flood = started.tail.note()
        also = f"; it {flood}" if flood else ""
        if code is None:
            started.stop()
            raise ScenarioFailed(f"`{program}` did not finish within {timeout:g} s and was "
                                 f"stopped{also}", started.output(),
                                 fix="look for a loop that never ends or a blocking call")
        if check and code != 0:
            memory = started.verdict()
            if memory:
                raise ScenarioFailed(memory + also, started.output(),
                                     fix="look for a list or buffer that grows without end")
            raise ScenarioFailed(f"`{program}` exited with code {code}{also}",
                                 started.output(), fix="run it yourself to see the error")
        return started

    def burst(self, queue_url: str, count: int, *, rate: float | None = None,
              body: Callable[[int], str] | None = None, threads: int = 8) -> BurstResult:
        """Send `count` messages (batches of 10) at up to `rate` msg/s."""
        return burst(self.endpoint, queue_url, count, rate=rate, body=body, threads=threads)

    def abort(self) -> None:
        """Stop every running program now (called from another thread: LocalStack is gone)."""
        self.lost.set()
        for program in list(self.programs):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                program.stop(grace=0.5)

    def close(self) -> None:
        """Stop every program still running and remove the scratch files."""
        for program in self.programs:
            program.stop()
        self.programs.clear()
        if self.plan is not None:
            self.plan.close()
            self.plan = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def quiet(self, programs: list[Program], most: float) -> bool:
        """Wait (at most `most` s) until none of `programs` holds a message."""
        return self.wait_until(lambda: all(p.idle() for p in programs), timeout=most,
                               interval=0.2)

    def stop_and_outlive_polls(self, programs: list[Program],
                               queue_default: float = 0.0) -> None:
        """Stop programs, then wait until their pending long polls are over on the server.

        A ReceiveMessage that was waiting when its program died still completes: a message
        arriving within the wait would be handed to the dead program and stay invisible
        for a whole visibility timeout. `queue_default`: the queue's
        ReceiveMessageWaitTimeSeconds, for receives that did not state a wait.
        """
        for program in programs:
            program.stop()
        until = max((p.poll_ends(queue_default) for p in programs), default=0.0)
        time.sleep(max(0.0, min(until - time.time(), LONGEST_POLL + 1)))

    def wait_until(self, condition: Callable[[], bool], timeout: float,
                   interval: float = 0.25) -> bool:
        """Poll `condition` until true or `timeout` s passed (bounded waiting)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(interval)
        return bool(condition())
