"""The shared background LocalStack of `tutor localstack up|down|status`: detached, and
recorded in a state file so that other tutor sessions and the learner's shell share it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time

from tutor import locations
from tutor.cloud.classroom import advertised_host, bind_error, validate_listen
from tutor.cloud.endpoint import Endpoint, account, region
from tutor.cloud.health import probe
from tutor.cloud.localstack_boot import (
    Progress,
    free_port,
    launch_localstack,
    port_is_free,
    wait_healthy,
)
from tutor.cloud.localstack_config import LOCALSTACK_VERSION
from tutor.errors import TutorError


def service_state() -> dict[str, object] | None:
    path = locations.service_state_file()
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def service_up(port: int | None = None, progress: Progress | None = None, *,
               listen: str | None = None, classroom: bool = False) -> Endpoint:
    """Start the shared background LocalStack (or return the running one).

    `listen="HOST[:PORT]"` also serves it on that address; a non-loopback one only with
    `classroom=True` (the explicit opt-in of `tutor localstack up --classroom`).
    """
    host, port = validate_listen(listen, classroom, port)
    state = service_state()
    if state and _pid_alive(int(str(state.get("pid", 0)))) and probe(str(state["url"])).ready:
        if host and state.get("listen") != host:
            raise TutorError(
                f"a LocalStack already runs at {state['url']}, not listening on {host}",
                "Already running", "stop it with `tutor localstack down`, then start it "
                "again with --listen")
        return Endpoint(str(state["url"]), "tutor localstack up", region(), account())
    if port is None:
        port = 4566 if port_is_free(4566) and (not host or bind_error(host, 4566) is None) \
            else free_port()
    if not port_is_free(port) or (host and host not in {"0.0.0.0", "::"}
                                  and bind_error(host, port) is not None):
        raise TutorError(f"Port {port} is already taken", "Port taken",
                         "stop what uses it, or run `tutor localstack up` without a port")
    data = locations.localstack_dir() / "service"
    launch = launch_localstack(port, data, detached=True, listen=host)
    url = f"http://127.0.0.1:{port}"
    state = {"pid": launch.proc.pid, "port": port, "url": url, "log": str(launch.log),
             "started_at": time.time(), "version": LOCALSTACK_VERSION}
    if host:
        state.update({"listen": host,
                      "classroom_url": f"http://{advertised_host(host)}:{port}"})
    locations.service_state_file().write_text(json.dumps(state, indent=2))
    try:
        wait_healthy(url, launch.proc, launch.log, progress)
    except BaseException:
        service_down()
        raise
    return Endpoint(url, "tutor localstack up", region(), account())


def service_down(timeout: float = 20.0) -> bool:
    """Stop the background LocalStack; False when none was running."""
    state = service_state()
    path = locations.service_state_file()
    if not state:
        return False
    pid = int(str(state.get("pid", 0)))
    stopped = False
    if pid and _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.1)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        stopped = True
    path.unlink(missing_ok=True)
    return stopped


def _reap(pid: int) -> None:
    """Collect the watchdog if it is our own child (so it is not left a zombie)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
