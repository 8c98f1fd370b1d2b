"""Lambda handlers in the learner programs' sandbox (`tutor/sandbox`).

A function's code is learner code as much as `worker.py` is, and LocalStack runs it as
the user LocalStack runs as: on a classroom server, without a sandbox, a handler could
read every learner's workspace and the server's own files. Confined, each runtime
process runs in a sandbox of its own:

- files: the function's code read-only, its own working directory (HOME, TMPDIR) and
  the tutor's fault and measure files for it writable, the system and Python read-only,
  nothing else;
- network: only LocalStack's port (the runtime API and the handler's own AWS calls),
  and the runtime's invoke port served back out to LocalStack;
- processes and resources: as for any learner program (PID namespace, task budget,
  CPU, 1 GiB of memory, file size, a bounded working directory).

It is on when LocalStack runs with `TUTOR_SANDBOX=1`: `tutor serve` starts the room's
LocalStack so whenever the machine has a sandbox, or `TUTOR_SANDBOX=1 tutor localstack
up` by hand. A runtime that cannot be confined then does not start at all, never
unconfined. A learner's own LocalStack at their own terminal runs handlers as they run
their programs: as them.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from tutor import sandbox

# The variables of LocalStack's that name where the runtime reaches it: inside the
# sandbox LocalStack answers on 127.0.0.1 at its own port, whatever address it listens on.
_ENDPOINT_VARS = ("AWS_ENDPOINT_URL", "LOCALSTACK_RUNTIME_ENDPOINT", "AWS_LAMBDA_RUNTIME_API")


def wanted() -> bool:
    """Whether runtime processes are confined in this LocalStack (see the module doc)."""
    return os.environ.get(sandbox.SANDBOX_ENV, "").strip() == "1"


def free_port() -> int:
    """A loopback port nobody listens on now (the sandbox's relay takes it at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def confinement(env: dict[str, str], workdir: Path, code_dir: Path,
                gateway: tuple[str, int]) -> tuple[sandbox.Confinement, dict[str, str]]:
    """The sandbox of one runtime process and the environment it runs with inside it."""
    port = free_port()
    writable = [workdir]
    state = env.get("TUTOR_FAULTS_STATE")
    if state:  # the fault plan's counters and the measure file of this function
        writable.append(Path(state).parent)
    jail = sandbox.Confinement(workdir, f"http://{gateway[0]}:{gateway[1]}",
                               writable=tuple(writable), readable=(code_dir,),
                               served=(port,))
    inside = dict(env, _TUTOR_RUNTIME_PORT=str(port),
                  _TUTOR_PARENT_PID="0")  # bwrap's --die-with-parent does that job
    host = f"{gateway[0]}:{gateway[1]}"
    for key in _ENDPOINT_VARS:
        if key in inside:
            inside[key] = inside[key].replace(host, f"127.0.0.1:{gateway[1]}")
    if "LOCALSTACK_HOSTNAME" in inside:
        inside["LOCALSTACK_HOSTNAME"] = "127.0.0.1"
    return jail, inside
