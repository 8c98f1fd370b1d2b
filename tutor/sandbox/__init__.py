"""Learner programs confined with bubblewrap, for a tutor that runs other people's code.

`tutor serve` (always with `--public`; on loopback when bubblewrap is installed) and
`TUTOR_SANDBOX=1` anywhere start every learner program, the checks' scenarios and the run
pane's alike, through `Confinement`:

- files: the system's programs and libraries, Python and the tutor read-only; the
  program's own workspace and the tutor's scratch files for it writable; a private
  `/tmp`; nothing else (no `~/.aws`, `~/.ssh`, other learners' workspaces or stores);
- processes: its own PID namespace (nothing outside it is visible, and nothing inside
  outlives it: `setsid` does not escape), at most PROCESS_BUDGET tasks (a pids cgroup;
  RLIMIT_NPROC for a server that is not root), CPU seconds, data and file size bounded
  by rlimits, and a workspace that may grow by WORKSPACE_GROWTH at most;
- network: its own network namespace, where the only ports that answer are LocalStack's
  and the ports of the run's other programs (`ScenarioRunner.free_port()`) on its
  loopback, carried to the real ones by the tutor (`inside.py` inside, `relay.py`
  here); a port the program serves (lab 01's frontend, lab 05's web app) is carried back
  out the same way.

`problem()` says in one line why a sandbox cannot be had here ("" when it can): a public
server refuses to start without one rather than run code unconfined.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tutor.sandbox.relay import Relay

SANDBOX_ENV = "TUTOR_SANDBOX"  # "1": confine learner programs (a public serve sets it)
SERVED_ENV = "TUTOR_SERVED"  # set by `tutor serve` in each tab: "loopback" or "public"
PROCESS_BUDGET = 128  # tasks (processes and threads) one program may have at once
CPU_SECONDS = 600  # of CPU per process
FILE_LIMIT = 64 * 1024 * 1024  # the largest file a program may write
WORKSPACE_GROWTH = 256 * 1024 * 1024  # how much a run may add to its workspace
TMP_SIZE = 64 * 1024 * 1024  # the private /tmp (in memory)
WATCH_SECONDS = 0.05  # how often the workspace is measured while a program runs: what
# a program writes in that time (page-cache speed, ~150 MiB here) is the overshoot
INSIDE = Path(__file__).with_name("inside.py")
# What of /etc a program needs (names, certificates, the loader's cache); not the rest.
ETC = ("passwd", "group", "hosts", "nsswitch.conf", "ld.so.cache", "ld.so.conf",
       "ld.so.conf.d", "ssl", "ca-certificates", "alternatives", "localtime", "mime.types",
       "protocols", "services")


# What of the server's own environment a sandboxed program gets (the tutor's own settings
# for it, the endpoint's and the lab's, are added to this).
PASSED = frozenset({"PATH", "LANG", "LANGUAGE", "TERM", "TZ", "NO_PROXY", "no_proxy",
                    "DISABLE_DEPRECATION_NOTICE", "AWS_DEFAULT_REGION", "AWS_REGION"})


def wanted() -> bool:
    """Whether this process confines learner programs: always in a public `tutor serve`
    tab; in a loopback tab when bubblewrap is there (the server's own user may have more
    than one learner at the keyboard); elsewhere when TUTOR_SANDBOX is 1."""
    served = os.environ.get(SERVED_ENV)
    setting = os.environ.get(SANDBOX_ENV, "")
    if served == "public":
        return True
    if setting in ("0", "1"):
        return setting == "1"
    return served == "loopback" and not problem()


@functools.cache
def _pids_cgroup() -> Path | None:
    """A pids cgroup hierarchy this process may make groups in (v1, or v2 with pids)."""
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        if (base / "pids.max").exists() or not os.access(base, os.W_OK):
            continue  # pids.max at the base: not a root we may make groups under
        if base.name == "pids" or "pids" in _read(base / "cgroup.subtree_control"):
            return base
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@functools.cache
def problem() -> str:
    """Why learner programs cannot be sandboxed here, in one line ("" when they can)."""
    if shutil.which("bwrap") is None:
        return ("bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` "
                "(`make` installs it when run as root)")
    if os.geteuid() == 0 and _pids_cgroup() is None:
        return ("running as root with no writable pids cgroup, the sandbox cannot bound "
                "a program's processes: run the server as an ordinary user")
    try:
        trial = subprocess.run(["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind",
                                "/", "/", "--proc", "/proc", "true"], capture_output=True,
                               text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap cannot start here: {exc}"
    if trial.returncode != 0:
        why = (trial.stderr.strip().splitlines() or ["no reason given"])[-1]
        return f"bubblewrap cannot create namespaces here ({why})"
    return ""


def _tasks_of_this_user() -> int:
    """Processes and threads this user runs now (RLIMIT_NPROC counts all of them)."""
    import psutil

    uid = os.getuid()
    count = 0
    for proc in psutil.process_iter(["uids", "num_threads"]):
        with contextlib.suppress(psutil.Error, TypeError):
            if proc.info["uids"] and proc.info["uids"].real == uid:
                count += int(proc.info["num_threads"] or 1)
    return count


def _size(root: Path, most: int = 50_000) -> int:
    """Bytes under `root` (at most `most` entries read: a flood of files counts as big)."""
    total, seen, stack = 0, 0, [root]
    while stack:
        with contextlib.suppress(OSError), os.scandir(stack.pop()) as entries:
            for entry in entries:
                seen += 1
                if seen > most:
                    return 1 << 62
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
    return total


class Confinement:
    """One start of one learner program in a sandbox: its command line, its relay, its
    process group and its workspace watch; `close()` undoes all of it."""

    def __init__(self, workspace: Path, endpoint_url: str, *, writable: tuple[Path, ...] = (),
                 readable: tuple[Path, ...] = (), served: tuple[int, ...] = (),
                 reached: tuple[int, ...] = ()) -> None:
        reason = problem()
        if reason:
            from tutor.errors import TutorError

            raise TutorError(f"learner programs must run sandboxed here, and {reason}",
                             "No sandbox", "install bubblewrap, or do not serve publicly")
        self.workspace = workspace.resolve()
        self.writable = tuple(p.resolve() for p in writable)
        self.readable = tuple(p.resolve() for p in readable)  # e.g. a Lambda function's code
        self.served, self.reached = list(served), list(reached)
        parts = urlsplit(endpoint_url)
        self.endpoint = (parts.hostname or "127.0.0.1", parts.port or 4566)
        self.sockets = Path(tempfile.mkdtemp(prefix="tutor-sandbox-"))
        self.relay = Relay(self.sockets, self.endpoint, self.served, self.reached)
        self.cgroup: Path | None = None
        base = _pids_cgroup()
        if base is not None:
            self.cgroup = base / f"tutor-sandbox-{uuid.uuid4().hex[:12]}"
            self.cgroup.mkdir()
            (self.cgroup / "pids.max").write_text(str(PROCESS_BUDGET))
        self.note = ""  # why the sandbox stopped the program, if it did
        self.leftovers: list[dict[str, Any]] | None = None  # read at close()
        self.pid: int | None = None
        self._baseline = _size(self.workspace)
        self._closed = threading.Event()

    def env(self, env: dict[str, str]) -> dict[str, str]:
        """The environment inside: what the tutor set for the program, the locale and
        PATH of the server's own environment and none of the rest (a server's shell may
        hold tokens), LocalStack on the sandbox's loopback, a private home."""
        url = f"http://127.0.0.1:{self.endpoint[1]}"
        inside = {key: value for key, value in env.items()
                  if os.environ.get(key) != value or key in PASSED
                  or key.startswith(("LC_", "TUTOR_", "PYTHON"))}
        for key in ("AWS_ENDPOINT_URL", "LOCALSTACK_ENDPOINT"):
            if key in inside:
                inside[key] = url
        inside["LOCALSTACK_HOST"] = f"127.0.0.1:{self.endpoint[1]}"
        inside.update({"HOME": "/tmp", "TMPDIR": "/tmp", "XDG_CACHE_HOME": "/tmp/.cache"})
        return inside

    def argv(self, cmd: list[str], memory: int | None) -> list[str]:
        """`cmd` (its program first) as it runs inside the sandbox, under its limits."""
        limits = [f"--cpu={CPU_SECONDS}", f"--fsize={FILE_LIMIT}", "--core=0"]
        if memory:
            limits.append(f"--data={memory}:{memory}")
        if self.cgroup is None:  # an ordinary user: RLIMIT_NPROC counts all their tasks
            nproc = _tasks_of_this_user() + PROCESS_BUDGET
            limits.append(f"--nproc={nproc}:{nproc}")
        wrapped = [shutil.which("prlimit") or "prlimit", *limits, "--",
                   shutil.which("bwrap") or "bwrap", *self._mounts(cmd),
                   "--unshare-all", "--die-with-parent", "--new-session",
                   "--cap-drop", "ALL", "--chdir", str(self.workspace), "--",
                   sys.executable, "-I", str(INSIDE), str(self.sockets),
                   str(self.endpoint[1]), ",".join(map(str, self.served)) or "-",
                   ",".join(map(str, self.reached)) or "-", "--", *cmd]
        if self.cgroup is None:
            return wrapped
        # Join the pids cgroup, then exec: no Python between fork and exec in the TUI.
        return ["/bin/sh", "-c", 'echo $$ > "$1" || exit 125; shift; exec "$@"', "sh",
                str(self.cgroup / "cgroup.procs"), *wrapped]

    def _mounts(self, cmd: list[str]) -> list[str]:
        # The private /tmp first: what is bound below it (a checkout, venv or workspace
        # under /tmp, as in CI and the tests) is bound into it, not hidden by it.
        args = ["--proc", "/proc", "--dev", "/dev", "--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
        for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for name in ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        readable = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
                    Path(__file__).resolve().parents[1]}  # Python, the venv, tutor/
        program = shutil.which(cmd[0]) if cmd else None
        if program:  # e.g. Node.js installed under /opt or a version manager
            readable.add(Path(os.path.realpath(program)).parent.parent)
        system = (Path("/usr"), Path("/bin"), Path("/lib"), Path("/lib64"))
        for path in sorted(readable):
            if path.is_dir() and not any(path.is_relative_to(s) for s in system):
                args += ["--ro-bind", str(path), str(path)]
        for target in (*self._shipped_links(), *self.readable):
            args += ["--ro-bind", str(target), str(target)]
        for path in (self.workspace, *self.writable, self.sockets):
            args += ["--bind", str(path), str(path)]
        return args

    def _shipped_links(self, depth: int = 3) -> list[Path]:
        """Targets of the workspace's symlinks into the packages the course ships (lab 01's
        node/node_modules links to the starter's SDK, installed by `make install`). A
        symlink to anywhere else leads nowhere inside the sandbox."""
        from tutor import locations

        labs = locations.labs_dir().resolve()
        found: list[Path] = []
        level = [self.workspace]
        for _ in range(depth):
            below: list[Path] = []
            for folder in level:
                with contextlib.suppress(OSError), os.scandir(folder) as entries:
                    for entry in entries:
                        path = Path(entry.path)
                        if entry.is_symlink():
                            target = path.resolve()
                            if target.is_dir() and target.is_relative_to(labs) and \
                                    "node_modules" in target.parts:
                                found.append(target)
                        elif entry.is_dir() and entry.name != "node_modules":
                            below.append(path)
            level = below
        return found

    def started(self, pid: int) -> None:
        """Watch the program started as `pid` (bwrap's process) until `close()`."""
        self.pid = pid
        threading.Thread(target=self._watch, daemon=True, name="tutor-sandbox-watch").start()

    def _watch(self) -> None:
        while not self._closed.wait(WATCH_SECONDS):
            grown = _size(self.workspace) - self._baseline
            if grown > WORKSPACE_GROWTH:
                self.note = (f"the sandbox stopped your program: it wrote more than "
                             f"{WORKSPACE_GROWTH >> 20} MiB into your workspace")
                self.kill()
                return

    def terminate(self) -> None:
        """SIGTERM to the program's process group inside (bwrap forwards no signal)."""
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(1.0)
            conn.connect(str(self.sockets / "control.sock"))
            conn.sendall(b"TERM\n")

    def kill(self) -> None:
        """SIGKILL everything the program started: bwrap (its PID namespace dies with it)
        and whatever the cgroup still holds."""
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
        if self.cgroup is not None:
            for _ in range(50):
                pids = [int(p) for p in _read(self.cgroup / "cgroup.procs").split()]
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.02)

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self.kill()
        with contextlib.suppress(OSError, ValueError):
            import json

            self.leftovers = json.loads((self.sockets / "leftovers.json").read_text())
        self.relay.close()
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                self.cgroup.rmdir()
        shutil.rmtree(self.sockets, ignore_errors=True)


class ConfinedPopen(subprocess.Popen[bytes]):
    """A sandboxed program's process: bubblewrap reports a signal as 128 + its number;
    the returncode says -N as for any other program (the checks count -9 as a crash the
    tutor injected). `confinement` is closed when the program is stopped."""

    confinement: Confinement

    def _handle_exitstatus(self, *args: Any, **kwargs: Any) -> None:
        super()._handle_exitstatus(*args, **kwargs)  # type: ignore[misc]
        code = self.returncode
        if code is not None and 128 < code < 128 + 65:
            self.returncode = 128 - code
