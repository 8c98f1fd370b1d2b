"""A learner program the tutor started: its process group, supervisor, output and event log."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.engine.labs.faults import fired

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
            # The whole restart happens under the lock, so that `finished` and `starting`
            # never see the moment between the count going up and the new process.
            with self._lock:
                if self._stopping or self.restarts >= self.max_restarts or \
                        self._relaunch is None:
                    return
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # what it forked dies too
                _release(self.proc)
                self.tail.join(1.0)
                self.exits.append(code)
                self._earlier.append(self.tail.text())
                self.restarts += 1
                self.proc, self.tail = self._relaunch()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _will_restart(self) -> bool:
        """(Under `_lock`) its process exited and the supervisor is about to start it
        again."""
        return (self.proc.poll() is not None and self._supervisor is not None
                and self._supervisor.is_alive() and self._relaunch is not None
                and not self._stopping and self.restarts < self.max_restarts)

    @property
    def finished(self) -> bool:
        """Down for good: its process exited and no restart will follow. A check's wait
        that ends "when every worker has crashed" must ask this, not `not alive and
        restarts >= max`: those two read apart race with the supervisor's restart (the
        count already up, the new process not yet started), and a right program crashed
        by the tutor would be judged while it was being started again."""
        with self._lock:
            return self.proc.poll() is not None and not self._will_restart()

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
            jail = getattr(self.proc, "confinement", None)
            if jail is not None:
                jail.terminate()  # bubblewrap forwards no signal: its relay does
            with contextlib.suppress(ProcessLookupError):
                if jail is None:
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
        _release(self.proc)
        self.tail.join(2.0)
        if self._supervisor is not None:
            self._supervisor.join(5.0)
        self.returncode = self.proc.returncode
        return int(self.returncode)

    def leftovers(self) -> list[dict[str, Any]] | None:
        """In a sandbox (`tutor/sandbox`), once stopped: the processes (`pid` as the program
        saw it, `cmdline`) it left running when it exited, which died with the sandbox;
        None outside a sandbox, where they are still there to be found."""
        jail = getattr(self.proc, "confinement", None)
        return None if jail is None else (jail.leftovers or [])

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
        jail = getattr(self.proc, "confinement", None)
        stopped = [f"[{jail.note}]"] if jail is not None and jail.note else []
        return "\n".join(stopped + ([f"[your program {note}]"] if note else []) + shown)

    def ending(self) -> str:
        """How its current process ended by itself, as a phrase ("exited with code 1",
        "was killed by SIGSEGV"); "" while it runs, and once the tutor stopped it."""
        code = self.proc.poll()
        with self._lock:
            if code is None or self._stopping:
                return ""
        if code >= 0:
            return f"exited with code {code}"
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"

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
        with self._lock:
            if self._will_restart():
                return True  # exited, and the supervisor starts it again right away
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


def _release(proc: subprocess.Popen[bytes]) -> None:
    """A sandboxed program's relay, cgroup and sockets go when it has ended."""
    jail = getattr(proc, "confinement", None)
    if jail is not None:
        jail.close()
