"""Scenario runner: learner programs as bounded subprocesses, load drivers, measurements."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.burst import BurstResult, burst
from tutor.engine.labs.faults import Fault, FaultPlan, fired
from tutor.errors import TutorError


class ScenarioFailed(TutorError):
    """A scenario could not produce its measurement (a learner program crashed, hung...)."""

    def __init__(self, message: str, output: str = "", fix: str = "") -> None:
        super().__init__(message=message, title="Scenario failed", fix=fix)
        self.output = output


HOOK_DIR = Path(__file__).resolve().parent / "hook"
OUTPUT_TAIL = 40  # lines of a learner program's output shown on failure
# What the tutor keeps of a program's output: the last 64 KiB. A program that prints
# without end is drained at once (never blocked on a full pipe) and costs no more memory.
OUTPUT_KEEP = 64 * 1024
# RLIMIT_DATA of every learner process (inherited by what it starts). Not RLIMIT_AS:
# Python with boto3 and a 16-thread pool reserves ~0.95 GiB of address space (thread
# stacks, malloc arenas) while using ~75 MB of data; Node.js reserves even more.
MEMORY_LIMIT = 1 << 30
# Words in a program's last output that mean an allocation failed (Python, Node.js, C).
_OOM_WORDS = ("MemoryError", "out of memory", "Cannot allocate memory",
              "allocation failed", "std::bad_alloc")


LONGEST_POLL = 20.0  # SQS's maximum WaitTimeSeconds


def human_bytes(count: float) -> str:
    """`65536` -> `64 KiB`, `1073741824` -> `1 GiB`."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.3g} {unit}" if unit != "bytes" else f"{int(count)} bytes"
        count /= 1024
    return f"{count:.3g} GiB"


class OutputTail:
    """Drains a program's output pipe in a thread, keeping only the last `keep` bytes."""

    def __init__(self, stream: Any, keep: int = OUTPUT_KEEP) -> None:
        self.keep = keep
        self.total = 0  # bytes the program printed, kept or not
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._stream = stream
        self._thread = threading.Thread(target=self._pump, daemon=True,
                                        name="tutor-output-tail")
        self._thread.start()

    def _pump(self) -> None:
        fd = self._stream.fileno()
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                with self._lock:
                    self.total += len(chunk)
                    self._buf += chunk
                    if len(self._buf) > 2 * self.keep:  # trim in steps, not per chunk
                        del self._buf[:-self.keep]
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                self._stream.close()

    def join(self, timeout: float) -> None:
        """Wait (bounded) until the pipe is drained: every writer has exited."""
        self._thread.join(timeout)

    @property
    def truncated(self) -> bool:
        return self.total > self.keep

    def text(self) -> str:
        with self._lock:
            data = bytes(self._buf[-self.keep:])
        return data.decode(errors="replace")

    def note(self) -> str:
        """One plain line when output was dropped, else an empty string."""
        if not self.truncated:
            return ""
        return (f"printed {human_bytes(self.total)}, more than the "
                f"{human_bytes(self.keep)} the tutor keeps; output truncated to the last "
                f"{human_bytes(self.keep)}")


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
class Program:
    """A learner program running in its own process group, output and measures on file.

    With `max_restarts`, a supervisor thread starts it again when it exits by itself (a
    crash, or the tutor's injected SIGKILL), as ECS or systemd would: every incarnation
    appends to the same measure file, and `restarts`/`exits` say what happened.
    """

    name: str
    proc: subprocess.Popen[bytes]
    tail: OutputTail
    measure: Path
    started: float
    returncode: int | None = None
    memory_limit: int | None = MEMORY_LIMIT
    max_restarts: int = 0
    restarts: int = 0
    exits: list[int] = field(default_factory=list)  # exit codes of earlier incarnations
    _relaunch: Callable[[], tuple[subprocess.Popen[bytes], OutputTail]] | None = None
    _earlier: list[str] = field(default_factory=list)  # output of earlier incarnations
    _stopping: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _supervisor: threading.Thread | None = None

    def supervise(self) -> None:
        if self.max_restarts <= 0 or self._relaunch is None or self._supervisor is not None:
            return
        self._supervisor = threading.Thread(target=self._watch, daemon=True,
                                            name=f"tutor-supervise-{self.name}")
        self._supervisor.start()

    def _watch(self) -> None:
        while True:
            code = self.proc.wait()
            with self._lock:
                if self._stopping or self.restarts >= self.max_restarts or \
                        self._relaunch is None:
                    return
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # what it forked dies too
                self.tail.join(1.0)
                self.exits.append(code)
                self._earlier.append(self.tail.text())
                self.restarts += 1
                self.proc, self.tail = self._relaunch()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float) -> int | None:
        """Wait up to `timeout` s; the exit code, or None if it still runs."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, grace: float = 2.0) -> int:
        """SIGTERM the whole group, then SIGKILL after `grace` seconds."""
        with self._lock:
            self._stopping = True
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # SIGKILL the group whatever happened, also after the program exited by itself:
        # children it forked may outlive it in the same group (ours: start_new_session).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)
        self.tail.join(2.0)
        if self._supervisor is not None:
            self._supervisor.join(5.0)
        self.returncode = self.proc.returncode
        return int(self.returncode)

    def crashes(self) -> list[int]:
        """Exit codes of the incarnations that ended by themselves (-9: killed)."""
        return list(self.exits)

    def output(self, lines: int = OUTPUT_TAIL) -> str:
        """The last `lines` lines it printed (a first line says so if output was cut)."""
        if self.proc.poll() is not None:
            self.tail.join(0.5)  # let the pump read what is left in the pipe
        text = "".join(f"{earlier.rstrip()}\n[{self.name} ended with code {code}; the "
                       "tutor started it again]\n"
                       for earlier, code in zip(self._earlier, self.exits, strict=False))
        shown = (text + self.tail.text()).rstrip().splitlines()[-lines:]
        note = self.tail.note()
        return "\n".join(([f"[your program {note}]"] if note else []) + shown)

    def out_of_memory(self) -> bool:
        """Did it stop because an allocation failed under the memory limit?"""
        code = self.proc.poll()
        if code is None or code == 0 or not self.memory_limit:
            return False
        return any(word in self.tail.text() for word in _OOM_WORDS)

    def verdict(self) -> str:
        """One plain line on why a program that exited non-zero did so, if the tutor knows."""
        if self.out_of_memory():
            return (f"`{self.name}` used more than {human_bytes(self.memory_limit or 0)} of "
                    "memory and was stopped")
        return ""

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Measured events (see hook/sitecustomize.py): api, db_open, db_close."""
        found: list[dict[str, Any]] = []
        try:
            text = self.measure.read_text()
        except OSError:
            return found
        for line in text.splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if kind is None or event.get("kind") == kind:
                    found.append(event)
        return found

    def wait_ready(self, timeout: float = 15.0) -> bool:
        """Wait until it made its first AWS call (Python's start-up and boto3's import are
        behind it): work with a deadline can be sent now."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.events("api") or not self.alive:
                return bool(self.events("api"))
            time.sleep(0.05)
        return bool(self.events("api"))

    @property
    def starting(self) -> bool:
        """Its current process runs and has not finished its first AWS call yet (Python's
        start-up, boto3's import): on a loaded machine a restart can take many seconds
        before the program can do anything, which is not a stall."""
        if not self.alive:
            return False
        pid = self.proc.pid
        return not any(e.get("pid") == pid for e in self.events("api"))

    def idle(self) -> bool:
        """Not holding a message: not running, or its latest API call was a receive that
        returned nothing (the hook records a call when it ends)."""
        if not self.alive:
            return True
        calls = self.events("api")
        return bool(calls) and calls[-1].get("op") == "ReceiveMessage" and \
            not calls[-1].get("n")

    def poll_ends(self, queue_default: float = 0.0) -> float:
        """When its pending long poll (if any) ends on the server, as wall-clock time: the
        end of its last recorded call plus the wait it asked for (or the queue default)."""
        calls = self.events("api")
        if not calls:
            return 0.0
        receives = [e for e in calls if e.get("op") == "ReceiveMessage"]
        wait = float(receives[-1].get("wait", queue_default)) if receives else queue_default
        return float(calls[-1]["t"]) + min(wait, LONGEST_POLL) + 0.3

    def faults(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The injected faults that fired in this program (see faults.py)."""
        return fired(self.events(), kind)

    def api_calls(self, service: str | None = None) -> Counter[str]:
        """API calls made, per operation (e.g. {"ReceiveMessage": 12, ...})."""
        return Counter(e["op"] for e in self.events("api")
                       if service is None or e.get("service") == service)

    def empty_receives(self) -> int:
        return sum(1 for e in self.events("api")
                   if e.get("op") == "ReceiveMessage" and e.get("n") == 0)

    def commits(self) -> int:
        """SQLite transactions this program committed."""
        return len(self.events("db_commit"))

    def max_open_connections(self) -> int:
        """The most SQLite connections this program held open at the same time.

        A process killed with connections open never logs their close: they count as
        closed at that process's last recorded event (the kernel closed them there)."""
        events = self.events()
        last_of: dict[Any, float] = {}
        for event in events:
            last_of[event.get("pid")] = float(event.get("t", 0))
        current = self.proc.pid if self.alive else None
        timeline: list[tuple[float, int, Any, Any]] = []  # (t, +1/-1, pid, id)
        for event in events:
            kind = event.get("kind")
            if kind in ("db_open", "db_close"):
                timeline.append((float(event.get("t", 0)), 1 if kind == "db_open" else -1,
                                 event.get("pid"), event.get("id")))
        open_ids: dict[tuple[Any, Any], float] = {}
        for t, step, pid, conn in timeline:
            if step > 0:
                open_ids[(pid, conn)] = t
            else:
                open_ids.pop((pid, conn), None)
        for (pid, conn), _ in open_ids.items():  # never closed: the process died with it
            if pid != current:
                timeline.append((last_of.get(pid, 0.0) + 1e-6, -1, pid, conn))
        open_now = best = 0
        for _, step, _, _ in sorted(timeline, key=lambda e: (e[0], e[1])):
            open_now += step
            best = max(best, open_now)
        return best


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

    def _scratch(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix=f"tutor-{self.lab_id}-"))
        return self._tmp

    def start(self, program: str, *args: str, env: dict[str, str] | None = None,
              measure: bool = True, restarts: int = 0, ready: bool = False) -> Program:
        """Start `program` (workspace-relative .py, .js or .mjs) in its own process group.

        `restarts`: start it again (up to that many times) when it exits by itself, as a
        supervisor would after a crash or the tutor's injected SIGKILL. `ready`: return once
        it made its first AWS call (bounded), for scenarios whose work has a deadline."""
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
        scratch = self._scratch()
        index = len(self.programs)
        measure_file = scratch / f"{index}-{path.stem}.measure.jsonl"
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
            proc = subprocess.Popen(_limited(cmd, self.memory_limit), cwd=self.workspace,
                                    env=full_env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True)
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
