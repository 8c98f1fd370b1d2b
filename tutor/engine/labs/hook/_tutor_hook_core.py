"""The hook's settings, its event log and the fault plan that every patch consults.

Loaded by sitecustomize.py, by its path, under this name (unique, so it cannot shadow a
learner's module). Importing it removes TUTOR_ variables from a Lambda handler's
environment and opens the event log.
"""

# mypy: ignore-errors
import contextlib
import fcntl
import fnmatch
import hashlib
import json
import os
import signal
import threading
import time

_path = os.environ.get("TUTOR_MEASURE_FILE")
_plan_path = os.environ.get("TUTOR_FAULTS_FILE")
_state = os.environ.get("TUTOR_FAULTS_STATE")
_reload = os.environ.get("TUTOR_FAULTS_RELOAD") == "1"
_program = os.environ.get("TUTOR_PROGRAM", "")  # which workspace program this is
try:  # when the runner started it: a fault added later applies only if `running`
    _started = float(os.environ.get("TUTOR_PROGRAM_STARTED", "") or "inf")
except ValueError:
    _started = float("inf")
if os.environ.get("LAMBDA_TASK_ROOT"):
    # In the tutor's Lambda runtime the handler sees Lambda's variables only, as on AWS:
    # the hook has read its own, and a handler has no child that would need them.
    for _key in [key for key in os.environ if key.startswith("TUTOR_")]:
        del os.environ[_key]


def _mine(fault):
    if fault.get("program") not in (None, "", _program):
        return False
    return bool(fault.get("running")) or float(fault.get("since") or 0) <= _started
_lock = threading.Lock()
_out = None
INJECTED = "injected by the tutor"

if _path:
    with contextlib.suppress(OSError):
        _out = open(_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process


def _log(event):
    if _out is None:
        return
    event["t"] = time.time()
    event["pid"] = os.getpid()
    line = json.dumps(event)
    with _lock:
        try:
            _out.write(line + "\n")
        except (OSError, ValueError):
            pass


# --- the fault plan ----------------------------------------------------------------------

_plan = {"faults": [], "mtime": None}


def _faults():
    if not _plan_path:
        return []
    if _plan["mtime"] is None or _reload:
        try:
            mtime = os.stat(_plan_path).st_mtime_ns
        except OSError:
            _plan["faults"], _plan["mtime"] = [], 0
            return []
        if mtime != _plan["mtime"]:
            try:
                with open(_plan_path) as handle:
                    _plan["faults"] = [f for f in json.load(handle).get("faults", [])
                                       if _mine(f)]
            except (OSError, ValueError, AttributeError):
                _plan["faults"] = []
            _plan["mtime"] = mtime
    return _plan["faults"]


def _tick(name):
    """Add one to a counter shared by every process of the scenario; the new value."""
    if not _state:
        return 1
    safe = hashlib.sha1(name.encode()).hexdigest()[:20]
    try:
        fd = os.open(os.path.join(_state, safe), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # the plan was withdrawn meanwhile: count it as a first
        return 1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.read(fd, 32)
        count = int(raw or b"0") + 1
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, str(count).encode())
        return count
    finally:
        os.close(fd)  # releases the lock


def _fires(fault, key=""):
    """Count this occurrence of `fault` and say whether it is one of its chosen ones."""
    count = _tick(f"{fault.get('id', '')}|{key}")
    if fault.get("every"):
        return True
    return count in (fault.get("nth") or [1])


def _fired(fault, **detail):
    _log({"kind": "fault", "fault": fault.get("kind"), "id": fault.get("id"), **detail})


def _kill(fault, **detail):
    _fired(fault, **detail)
    with contextlib.suppress(Exception):
        _out and _out.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_point(when, op, nonempty=True):
    for fault in _faults():
        if fault.get("kind") != "kill" or fault.get("when", "after") != when:
            continue
        if fault.get("op") != op:
            continue
        if fault.get("nonempty") and not nonempty:
            continue
        if _fires(fault):
            _kill(fault, when=when, op=op)


def _matches(fault, service, operation, params):
    if fault.get("op") != operation:
        return False
    if fault.get("service") and fault.get("service") != service:
        return False
    for name, pattern in (fault.get("match") or {}).items():
        if not fnmatch.fnmatchcase(str(params.get(name, "")), str(pattern)):
            return False
    return True
