"""Hook loaded into learner programs: measures botocore and SQLite, and injects faults.

The scenario runner (and the tutor's Lambda executor) put this directory first on
PYTHONPATH and set:

- TUTOR_MEASURE_FILE: every botocore API call, every SQLite connection opened and closed
  and every transaction committed is appended as one JSON line, flushed at once, so a
  killed program leaves a complete record;
- TUTOR_FAULTS_FILE (+ TUTOR_FAULTS_STATE, a directory): a fault plan (see
  tutor/engine/labs/faults.py). Counters live in the state directory under a file lock,
  so "the 3rd commit" or "the first delete" counts across every process of a scenario.
  With TUTOR_FAULTS_RELOAD=1 (long-lived Lambda runtimes) the plan is re-read when the
  file changes.

Without a fault plan nothing changes the program's behaviour.
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


# --- botocore ----------------------------------------------------------------------------

_copies = []  # duplicate deliveries waiting for the next ReceiveMessage of this process
_copy_handles = set()


def _patch_botocore():
    try:
        import botocore.client
        from botocore.exceptions import ClientError
    except ImportError:  # a program without boto3: nothing to count
        return
    original = botocore.client.BaseClient._make_api_call

    def api_error(service, operation, params):
        for fault in _faults():
            if fault.get("kind") != "api_error" or not _matches(fault, service, operation,
                                                                  params):
                continue
            per = fault.get("per")
            if _fires(fault, str(params.get(per, "")) if per else ""):
                code = fault.get("code", "InternalError")
                _fired(fault, service=service, op=operation,
                       key=str(params.get(per, "")) if per else "")
                raise ClientError({"Error": {"Code": code,
                                             "Message": f"{fault.get('message') or code} "
                                                        f"({INJECTED})"},
                                   "ResponseMetadata": {
                                       "HTTPStatusCode": int(fault.get("status", 500))}},
                                  operation)

    def batch_failures(service, operation, params):
        """Entries to report as Failed without sending them: {Id: error}."""
        chosen = {}
        for fault in _faults():
            if fault.get("kind") != "batch_fail" or not _matches(fault, service, operation,
                                                                   params):
                continue
            if not _fires(fault):
                continue
            entries = list(params.get("Entries") or [])
            picks = fault.get("entries") or [0]
            for index in picks:
                if 0 <= index < len(entries):
                    chosen[entries[index].get("Id")] = fault.get("code", "InternalError")
            _fired(fault, service=service, op=operation, entries=sorted(chosen))
        return chosen

    def counted(self, operation_name, api_params):
        service = self.meta.service_model.service_name
        if _plan_path:
            api_error(service, operation_name, api_params)
            _kill_point("before", operation_name)
        failing = {}
        params = api_params
        if _plan_path and operation_name in ("SendMessageBatch", "DeleteMessageBatch"):
            failing = batch_failures(service, operation_name, api_params)
            if failing:
                params = dict(api_params)
                params["Entries"] = [e for e in api_params.get("Entries", [])
                                     if e.get("Id") not in failing]
        try:
            if failing and not params["Entries"]:
                response = {"Successful": [], "Failed": [],
                            "ResponseMetadata": {"HTTPStatusCode": 200}}
            else:
                response = original(self, operation_name, params)
        except ClientError as exc:
            if _copy_handles and operation_name == "DeleteMessage" and \
                    api_params.get("ReceiptHandle") in _copy_handles:
                response = {"ResponseMetadata": {"HTTPStatusCode": 200}}  # already gone
            else:
                _log({"kind": "api", "service": service, "op": operation_name,
                      "error": type(exc).__name__,
                      "code": exc.response.get("Error", {}).get("Code", "")})
                raise
        except Exception as exc:
            _log({"kind": "api", "service": service, "op": operation_name,
                  "error": type(exc).__name__})
            raise
        if failing:
            response = dict(response)
            response["Failed"] = list(response.get("Failed", []) or []) + [
                {"Id": entry_id, "SenderFault": False, "Code": code,
                 "Message": f"{code} ({INJECTED})"} for entry_id, code in failing.items()]
        if _copy_handles and operation_name == "DeleteMessageBatch":
            response = _forgive_copies(api_params, response)
        if operation_name == "ReceiveMessage":
            response = _duplicates(response, int(api_params.get("MaxNumberOfMessages", 1)))
        event = {"kind": "api", "service": service, "op": operation_name}
        if operation_name == "ReceiveMessage":
            event["n"] = len(response.get("Messages", []) or [])
            wait = api_params.get("WaitTimeSeconds")
            if wait is not None:
                event["wait"] = wait
        elif operation_name in ("SendMessageBatch", "DeleteMessageBatch"):
            event["n"] = len(response.get("Successful", []) or [])
            event["failed"] = len(response.get("Failed", []) or [])
        elif operation_name == "ChangeMessageVisibility":  # how long it asked for
            event["vt"] = api_params.get("VisibilityTimeout")
        elif operation_name == "ChangeMessageVisibilityBatch":
            asked = [e.get("VisibilityTimeout") for e in api_params.get("Entries", []) or []]
            event["vt"] = min((v for v in asked if isinstance(v, int | float)), default=None)
        elif operation_name == "GetRecords":  # how far a consumer has read
            records = response.get("Records", []) or []
            event["n"] = len(records)
            if records:
                event["first"] = str(records[0].get("SequenceNumber", ""))
                event["last"] = str(records[-1].get("SequenceNumber", ""))
        elif operation_name == "GetShardIterator":  # where a consumer starts a shard
            event["shard"] = str(api_params.get("ShardId", ""))
            event["type"] = str(api_params.get("ShardIteratorType", ""))
            if api_params.get("StartingSequenceNumber") is not None:
                event["from"] = str(api_params["StartingSequenceNumber"])
        _log(event)
        if _plan_path:
            _kill_point("after", operation_name,
                        nonempty=bool(response.get("Messages")) if operation_name ==
                        "ReceiveMessage" else True)
        return response

    botocore.client.BaseClient._make_api_call = counted


def _duplicates(response, wanted):
    """Deliver chosen messages a second time, in a later receive that has room for them
    (SQS standard queues deliver at least once; a receive never returns more than its
    MaxNumberOfMessages)."""
    if not _plan_path:
        return response
    messages = list(response.get("Messages", []) or [])
    room = max(0, wanted - len(messages))
    extra = []
    if _copies and room:
        extra, _copies[:] = _copies[:room], _copies[room:]
    for fault in _faults():
        if fault.get("kind") != "duplicate":
            continue
        for message in messages:
            if _fires(fault):
                _copies.append(dict(message))
                _copy_handles.add(message.get("ReceiptHandle"))
                _fired(fault, message_id=message.get("MessageId"))
    if not extra:
        return response
    response = dict(response)
    response["Messages"] = messages + extra
    return response


def _forgive_copies(params, response):
    """Deleting a duplicate whose original is already deleted succeeds, as on SQS."""
    failed = list(response.get("Failed", []) or [])
    if not failed:
        return response
    handles = {e.get("Id"): e.get("ReceiptHandle") for e in params.get("Entries", [])}
    forgiven = [f for f in failed if handles.get(f.get("Id")) in _copy_handles
                and INJECTED not in str(f.get("Message", ""))]
    if not forgiven:
        return response
    response = dict(response)
    response["Failed"] = [f for f in failed if f not in forgiven]
    response["Successful"] = list(response.get("Successful", []) or []) + [
        {"Id": f.get("Id")} for f in forgiven]
    return response


# --- sqlite3 -----------------------------------------------------------------------------


def _commit_fault():
    """Raise (after rolling back) when this commit is one the plan makes fail."""
    for fault in _faults():
        if fault.get("kind") == "commit_fail" and _fires(fault):
            _fired(fault)
            return fault
    return None


def _patch_sqlite():
    import sqlite3

    original_connect = sqlite3.connect
    counter = iter(range(1, 1 << 62))

    def failed_write(conn):
        with contextlib.suppress(sqlite3.Error):
            sqlite3.Connection.rollback(conn)
        return sqlite3.OperationalError(f"disk I/O error ({INJECTED}: the write failed and "
                                        "was rolled back)")

    class Measured(sqlite3.Connection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._tutor_id = next(counter)
            self._tutor_open = True
            _log({"kind": "db_open", "id": self._tutor_id, "db": str(args[0] if args
                                                                     else "")})
            conn_id = self._tutor_id

            # Every transaction that commits, however it was written (commit(),
            # `with conn:`, an explicit COMMIT): SQLite traces each statement it runs.
            def trace(sql):
                head = sql.lstrip()[:6].upper()
                if head.startswith(("COMMIT", "END")):
                    _log({"kind": "db_commit", "id": conn_id})

            self.set_trace_callback(trace)

        def _tutor_commit(self, finish):
            """Commit through `finish`, with the plan's kill points and failed writes."""
            if not (_plan_path and self.in_transaction):
                return finish()
            _kill_point("before", "commit")
            if _commit_fault():
                raise failed_write(self)
            result = finish()
            _kill_point("after", "commit")
            return result

        def commit(self):
            return self._tutor_commit(super().commit)

        def __exit__(self, exc_type, exc, tb):
            if exc_type is not None:
                return super().__exit__(exc_type, exc, tb)
            return self._tutor_commit(lambda: super(Measured, self).__exit__(None, None, None))

        def _autocommits(self, sql):
            """A write outside a transaction on an autocommit connection is its own
            commit: the plan's commit faults apply to it too."""
            if not isinstance(sql, str) or self.in_transaction:
                return False
            if self.isolation_level is not None and getattr(self, "autocommit", -1) is not True:
                return False
            return sql.lstrip()[:7].upper().startswith(("INSERT", "UPDATE", "DELETE",
                                                        "REPLACE"))

        def execute(self, sql, *args, **kwargs):
            if isinstance(sql, str) and sql.lstrip()[:6].upper().startswith(("COMMIT", "END")):
                return self._tutor_commit(
                    lambda: super(Measured, self).execute(sql, *args, **kwargs))
            if self._autocommits(sql):
                return self._autocommit(lambda: super(Measured, self).execute(sql, *args,
                                                                              **kwargs))
            return super().execute(sql, *args, **kwargs)

        def executemany(self, sql, *args, **kwargs):
            if self._autocommits(sql):
                return self._autocommit(lambda: super(Measured, self).executemany(
                    sql, *args, **kwargs))
            return super().executemany(sql, *args, **kwargs)

        def _autocommit(self, run):
            _kill_point("before", "commit")
            if _commit_fault():
                raise sqlite3.OperationalError(f"disk I/O error ({INJECTED}: the write "
                                               "failed)")
            result = run()
            _log({"kind": "db_commit", "id": self._tutor_id, "autocommit": True})
            _kill_point("after", "commit")
            return result

        def close(self):
            if getattr(self, "_tutor_open", False):
                self._tutor_open = False
                _log({"kind": "db_close", "id": self._tutor_id})
            super().close()

        def __del__(self):
            if getattr(self, "_tutor_open", False):
                self._tutor_open = False
                _log({"kind": "db_close", "id": self._tutor_id, "gc": True})

    def connect(*args, **kwargs):
        kwargs.setdefault("factory", Measured)
        return original_connect(*args, **kwargs)

    sqlite3.connect = connect


if _path or _plan_path:
    _patch_botocore()
    _patch_sqlite()
